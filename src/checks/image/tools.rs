//! What counts as a build tool in a final image, per ecosystem (the list docs/checks.md documents).
//!
//! Three classes, judged differently because slim runtime bases (`python:3.12-slim`, `node:22-slim`) ship a
//! package manager themselves and a learner must not fail for their base's choice:
//! - compilers and build toolchains fail wherever they are (a runtime never needs them; a base that has them
//!   is a build image used as a runtime);
//! - package-manager caches fail wherever they are (official slim bases clean theirs in the same layer);
//! - package managers fail only in the layers the learner added.
//!
//! Paths are matched as the layer tars hold them, without a leading `/`.

/// The class of a build tool found in a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ToolClass {
    Compiler,
    PackageManager,
    Cache,
}

/// A build tool a path is part of: its class and a learner-readable name (`the C compiler gcc`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Tool {
    pub class: ToolClass,
    pub what: String,
}

/// Compilers and build toolchains, by the file name they have in a `bin` folder: (names, ecosystem).
const COMPILERS: &[(&[&str], &str)] = &[
    (
        &["gcc", "g++", "cc", "c++", "cpp", "clang", "clang++", "tcc"],
        "C/C++ compiler",
    ),
    (
        &["ld", "ld.bfd", "ld.gold", "ld.lld", "as"],
        "C/C++ toolchain (binutils)",
    ),
    (
        &["make", "cmake", "ninja", "autoconf", "automake"],
        "build tool",
    ),
    (&["rustc", "cargo", "rustup"], "Rust toolchain"),
    (&["go", "gofmt"], "Go toolchain"),
    (
        &["javac", "jlink", "mvn", "gradle", "sbt", "kotlinc"],
        "JVM toolchain",
    ),
    (&["tsc", "node-gyp"], "Node build tool"),
];

/// Compiler parts found outside `bin` folders: (a path part, ecosystem).
const COMPILER_PARTS: &[(&str, &str)] = &[
    ("rustlib/", "Rust toolchain"),
    ("go/pkg/tool/", "Go toolchain"),
    ("dotnet/sdk/", ".NET SDK"),
];

/// Package managers, by the file name they have in a `bin` folder.
const PACKAGE_MANAGERS: &[(&[&str], &str)] = &[
    (
        &["apt", "apt-get", "apt-cache", "dpkg", "aptitude"],
        "Debian package manager",
    ),
    (&["apk"], "Alpine package manager"),
    (&["yum", "dnf", "microdnf", "rpm"], "RPM package manager"),
    (
        &["pip", "pip3", "pipx", "poetry", "conda"],
        "Python package manager",
    ),
    (&["npm", "npx", "yarn", "pnpm"], "Node package manager"),
    (&["gem", "bundle"], "Ruby package manager"),
    (&["composer"], "PHP package manager"),
    (&["nuget"], ".NET package manager"),
];

/// Package-manager caches, by a path part (matched after a `/` or at the start): (part, what).
const CACHES: &[(&str, &str)] = &[
    ("var/lib/apt/lists/", "apt package lists"),
    ("var/cache/apt/", "apt package cache"),
    ("var/cache/apk/", "apk package cache"),
    ("var/cache/yum/", "yum package cache"),
    ("var/cache/dnf/", "dnf package cache"),
    (".cache/pip/", "pip cache"),
    (".npm/_cacache/", "npm cache"),
    (".cache/yarn/", "yarn cache"),
    (".pnpm-store/", "pnpm store"),
    (".cargo/registry/", "cargo registry cache"),
    (".cargo/git/", "cargo git cache"),
    ("usr/local/cargo/registry/", "cargo registry cache"),
    ("go/pkg/mod/", "Go module cache"),
    (".cache/go-build/", "Go build cache"),
    (".m2/repository/", "Maven repository cache"),
    (".gradle/caches/", "Gradle cache"),
    (".nuget/packages/", ".NET NuGet cache"),
    (".composer/cache/", "Composer cache"),
];

/// Files inside cache folders that are not cached packages (apt's lock and its half-fetched downloads).
const NOT_CACHE: &[&str] = &["var/lib/apt/lists/lock", "var/cache/apt/archives/lock"];

/// The build tool `path` is part of, if any. `regular` says whether it is a file with content (caches count
/// only files; a tool counts as a file or a link).
pub(super) fn classify(path: &str, regular: bool) -> Option<Tool> {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    let in_bin = dir == "bin" || dir == "sbin" || dir.ends_with("/bin") || dir.ends_with("/sbin");
    if in_bin {
        if let Some(what) = compiler_name(name) {
            return Some(tool(ToolClass::Compiler, format!("{what} `{name}`")));
        }
        if let Some((_, what)) = PACKAGE_MANAGERS
            .iter()
            .find(|(names, _)| names.contains(&name) || is_versioned(name, names))
        {
            return Some(tool(ToolClass::PackageManager, format!("{what} `{name}`")));
        }
    }
    if name == "cc1" || name == "cc1plus" {
        return Some(tool(
            ToolClass::Compiler,
            format!("C/C++ compiler `{name}`"),
        ));
    }
    let slashed = format!("/{path}");
    if let Some((_, what)) = COMPILER_PARTS
        .iter()
        .find(|(part, _)| slashed.contains(&format!("/{part}")))
    {
        return Some(tool(ToolClass::Compiler, (*what).to_string()));
    }
    if regular && !NOT_CACHE.contains(&path) {
        if let Some((_, what)) = CACHES
            .iter()
            .find(|(part, _)| slashed.contains(&format!("/{part}")))
        {
            return Some(tool(ToolClass::Cache, (*what).to_string()));
        }
    }
    None
}

fn tool(class: ToolClass, what: String) -> Tool {
    Tool { class, what }
}

/// The ecosystem of a compiler named `name`, with the versioned and cross forms distributions install
/// (`gcc-12`, `x86_64-linux-gnu-gcc-12`, `clang-17`).
fn compiler_name(name: &str) -> Option<&'static str> {
    let unprefixed = name
        .strip_prefix("x86_64-linux-gnu-")
        .or_else(|| name.strip_prefix("aarch64-linux-gnu-"))
        .unwrap_or(name);
    COMPILERS
        .iter()
        .find(|(names, _)| names.contains(&unprefixed) || is_versioned(unprefixed, names))
        .map(|(_, what)| *what)
}

/// `pip3.12` or `gcc-12`: one of `names` followed by `-` or `.` and a version number.
fn is_versioned(name: &str, names: &[&str]) -> bool {
    names.iter().any(|n| {
        name.strip_prefix(n)
            .and_then(|rest| rest.strip_prefix('-').or_else(|| rest.strip_prefix('.')))
            .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(path: &str) -> Option<ToolClass> {
        classify(path, true).map(|t| t.class)
    }

    #[test]
    fn compilers_count_in_bin_folders_and_by_their_parts() {
        assert_eq!(class("usr/bin/gcc-12"), Some(ToolClass::Compiler));
        assert_eq!(
            class("usr/bin/x86_64-linux-gnu-gcc-12"),
            Some(ToolClass::Compiler)
        );
        assert_eq!(
            class("usr/lib/gcc/x86_64-linux-gnu/12/cc1"),
            Some(ToolClass::Compiler)
        );
        assert_eq!(
            class("usr/local/cargo/bin/rustc"),
            Some(ToolClass::Compiler)
        );
        assert_eq!(
            class("usr/local/rustup/toolchains/x/lib/rustlib/x/lib/libstd.rlib"),
            Some(ToolClass::Compiler)
        );
        assert_eq!(class("usr/local/go/bin/go"), Some(ToolClass::Compiler));
        assert_eq!(class("opt/java/bin/javac"), Some(ToolClass::Compiler));
        assert_eq!(
            class("usr/share/dotnet/sdk/8.0.100/x.dll"),
            Some(ToolClass::Compiler)
        );
    }

    #[test]
    fn runtimes_and_look_alikes_are_not_tools() {
        assert_eq!(class("usr/local/bin/python3.12"), None);
        assert_eq!(class("usr/local/bin/node"), None);
        assert_eq!(class("opt/java/bin/java"), None);
        assert_eq!(class("app/docs/gcc"), None);
        assert_eq!(class("usr/bin/gccgo-notes.txt"), None);
        assert_eq!(class("app/go.mod"), None);
        assert_eq!(
            class("usr/share/dotnet/shared/Microsoft.NETCore.App/8.0.0/x.dll"),
            None
        );
    }

    #[test]
    fn package_managers_and_caches_are_told_apart() {
        assert_eq!(class("usr/bin/apt-get"), Some(ToolClass::PackageManager));
        assert_eq!(
            class("usr/local/bin/pip3.12"),
            Some(ToolClass::PackageManager)
        );
        assert_eq!(class("usr/local/bin/npm"), Some(ToolClass::PackageManager));
        assert_eq!(
            class("var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease"),
            Some(ToolClass::Cache)
        );
        assert_eq!(class("root/.cache/pip/http/a/b"), Some(ToolClass::Cache));
        assert_eq!(
            class("home/app/.npm/_cacache/index-v5/x"),
            Some(ToolClass::Cache)
        );
        assert_eq!(
            class("root/go/pkg/mod/cache/download/x"),
            Some(ToolClass::Cache)
        );
        assert_eq!(class("var/lib/apt/lists/lock"), None);
        assert_eq!(classify("var/lib/apt/lists/", false), None);
    }
}
