//! Reading the classic builder's log as it streams: lines passed on to the caller up to a cap, the end kept
//! for the error, the image id, and each layer the build commits (to be tagged in the run's repository, see
//! `images.rs`). The learner's `RUN` output is in the same log, so what is recognised here may be forged.

use bollard::models::BuildInfo;

use super::tail::LogTail;

/// The longest line passed on; a step printing without line ends is cut into lines of this size, so that
/// what is held in memory stays bounded.
const MAX_LINE: usize = 16 * 1024;

/// What the build stream has told us so far.
pub(super) struct Progress {
    pub(super) log: LogTail,
    /// Text after the last newline: the engine may split a line across messages.
    partial: String,
    pub(super) image: Option<String>,
    /// Layers committed since the caller last drained them, to be tagged.
    pub(super) committed: Vec<String>,
    /// The last step was a `FROM`: the next ` ---> <id>` is the base image, which is not the run's to tag.
    after_from: bool,
    /// The container of the step in progress (` ---> Running in <id>`).
    pub(super) step_container: Option<String>,
    /// Bytes passed to the caller so far, and the cap after which lines are read and dropped.
    forwarded: usize,
    max_forwarded: usize,
}

impl Progress {
    pub(super) fn new(log_cap: usize, max_forwarded: usize) -> Self {
        Self {
            log: LogTail::new(log_cap),
            partial: String::new(),
            image: None,
            committed: Vec::new(),
            after_from: false,
            step_container: None,
            forwarded: 0,
            max_forwarded,
        }
    }

    pub(super) fn read(&mut self, info: BuildInfo, on_line: &mut impl FnMut(&str)) {
        if let Some(id) = info.aux.and_then(|aux| aux.id) {
            self.image = Some(id);
        }
        for text in [info.stream, info.status].into_iter().flatten() {
            self.partial.push_str(&text);
            while let Some(end) = self.partial.find('\n') {
                let line: String = self.partial.drain(..=end).collect();
                self.line(line.trim_end(), on_line);
            }
            while self.partial.len() > MAX_LINE {
                let mut cut = MAX_LINE;
                while !self.partial.is_char_boundary(cut) {
                    cut -= 1;
                }
                let line: String = self.partial.drain(..cut).collect();
                self.line(&line, on_line);
            }
        }
    }

    pub(super) fn flush(&mut self, on_line: &mut impl FnMut(&str)) {
        let rest = std::mem::take(&mut self.partial);
        if !rest.trim().is_empty() {
            self.line(rest.trim_end(), on_line);
        }
    }

    /// Reads one line of the log, without its line end. The learner's `RUN` output is in the same log, so
    /// what it recognises may be forged; `images.rs` makes a forged id harmless.
    fn line(&mut self, line: &str, on_line: &mut impl FnMut(&str)) {
        if let Some(step) = line.strip_prefix("Step ") {
            // `Step 3/7 : FROM base AS name`, the instruction in any case and followed by any blank.
            self.after_from = step
                .split_once(" : ")
                .and_then(|(_, instruction)| instruction.split_whitespace().next())
                .is_some_and(|word| word.eq_ignore_ascii_case("FROM"));
        } else if let Some(id) = line.strip_prefix(" ---> Running in ") {
            // Only an id: a forged line naming a container (`postgres`) must not get it removed on failure.
            self.step_container = is_short_id(id).then(|| id.to_string());
            // A `FROM` that runs a container (the base's `ONBUILD` triggers) commits a layer of this run.
            self.after_from = false;
        } else if line == " --->" {
            // What `FROM scratch` prints: no base image.
            self.after_from = false;
        } else if let Some(id) = line.strip_prefix(" ---> ").filter(|id| is_short_id(id)) {
            // ` ---> Using cache` comes before the id and is not one.
            if !std::mem::take(&mut self.after_from) {
                self.committed.push(id.to_string());
            }
        }
        self.forward(line, on_line);
        self.log.push(line);
        self.log.push("\n");
    }

    /// Passes the line on until the cap, then says once that the rest is dropped.
    fn forward(&mut self, line: &str, on_line: &mut impl FnMut(&str)) {
        if self.forwarded > self.max_forwarded {
            return;
        }
        self.forwarded += line.len() + 1;
        if self.forwarded <= self.max_forwarded {
            on_line(line);
        } else {
            on_line(&format!(
                "── build output truncated: more than {} KiB; the rest is not shown (the build goes on, and the \
                 end of its log is kept with the run) ──",
                self.max_forwarded / 1024
            ));
        }
    }
}

/// The engine's short image id: twelve lower-case hexadecimal digits.
fn is_short_id(s: &str) -> bool {
    s.len() == 12
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `log` as the engine sends it: a step's title and its line end in separate messages.
    fn committed(log: &str) -> Vec<String> {
        let mut progress = Progress::new(1024, 1 << 20);
        for line in log.split_inclusive('\n') {
            for chunk in [line.trim_end_matches('\n'), "\n"] {
                let info = BuildInfo {
                    stream: Some(chunk.to_string()),
                    ..Default::default()
                };
                progress.read(info, &mut |_| {});
            }
        }
        progress.committed
    }

    #[test]
    fn every_committed_layer_is_taken_but_no_base_image() {
        let log = "Step 1/6 : FROM python:3.12-slim AS build\n ---> 75bb615acb26\n\
                   Step 2/6 : COPY . /app\n ---> 890e855d8359\n\
                   Step 3/6 : RUN make\n ---> Running in 96ea621e74c1\nok\n\
                   Removing intermediate container 96ea621e74c1\n ---> 1d81abcaf808\n\
                   Step 4/6 : from scratch\n ---> \n\
                   Step 5/6 : COPY --from=build /app/bin /bin\n ---> Using cache\n ---> 301af1c9cff5\n\
                   Step 6/6 : FROM build\n ---> 1d81abcaf808\n";
        assert_eq!(
            committed(log),
            ["890e855d8359", "1d81abcaf808", "301af1c9cff5"]
        );
    }

    #[test]
    fn the_layer_of_a_from_with_onbuild_triggers_is_taken() {
        let log = "Step 1/2 : FROM base-with-onbuild\n# Executing 1 build trigger\n \
                   ---> Running in 96ea621e74c1\nRemoving intermediate container 96ea621e74c1\n \
                   ---> 1d81abcaf808\nStep 2/2 : CMD [\"/app\"]\n ---> 301af1c9cff5\n";
        assert_eq!(committed(log), ["1d81abcaf808", "301af1c9cff5"]);
    }

    #[test]
    fn a_step_named_like_from_is_not_a_from() {
        let log = "Step 1/2 : FROM scratch\n ---> \nStep 2/2 : ENV FROM=1\n ---> 841b5b82ebd7\n";
        assert_eq!(committed(log), ["841b5b82ebd7"]);
    }

    #[test]
    fn from_followed_by_a_tab_is_a_from() {
        let log = "Step 1/2 : from\tpython:3.12\n ---> 75bb615acb26\nStep 2/2 : CMD x\n ---> 841b5b82ebd7\n";
        assert_eq!(committed(log), ["841b5b82ebd7"]);
    }

    #[test]
    fn only_an_id_is_taken_for_the_step_container() {
        let mut progress = Progress::new(1024, 1 << 20);
        progress.line(" ---> Running in 96ea621e74c1", &mut |_| {});
        assert_eq!(progress.step_container.as_deref(), Some("96ea621e74c1"));
        progress.line(" ---> Running in postgres", &mut |_| {});
        assert_eq!(progress.step_container, None);
    }

    #[test]
    fn only_short_ids_are_layers() {
        let log = concat!(
            "Step 1/2 : FROM scratch\n ---> \n",
            "Step 2/2 : RUN [\"/t\"]\n ---> Running in 96ea621e74c1\n",
            " ---> sha256:1d81abcaf808\n ---> 1D81ABCAF808\n ---> not-an-id\n ---> 1d81abcaf80\n",
            " ---> 301af1c9cff5\n",
        );
        assert_eq!(committed(log), ["301af1c9cff5"]);
    }
}

#[cfg(test)]
mod output_cap_tests {
    use super::*;

    fn feed(progress: &mut Progress, text: &str) -> Vec<String> {
        let mut seen = Vec::new();
        progress.read(
            BuildInfo {
                stream: Some(text.to_string()),
                ..Default::default()
            },
            &mut |l: &str| seen.push(l.to_string()),
        );
        seen
    }

    #[test]
    fn output_past_the_cap_is_dropped_after_one_notice_but_layers_are_still_read() {
        let mut progress = Progress::new(256, 100);
        let mut seen = feed(&mut progress, &"0123456789\n".repeat(9));
        assert_eq!(seen.len(), 9);
        seen = feed(&mut progress, &"0123456789\n".repeat(50));
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(seen[0].contains("build output truncated"), "{seen:?}");
        assert!(feed(&mut progress, "more\n").is_empty());
        feed(&mut progress, "Step 2/2 : CMD x\n ---> 841b5b82ebd7\n");
        assert_eq!(progress.committed, ["841b5b82ebd7"]);
        assert!(progress.log.snapshot().ends_with(" ---> 841b5b82ebd7\n"));
    }

    #[test]
    fn a_line_without_end_is_cut_so_memory_stays_bounded() {
        let mut progress = Progress::new(1024, usize::MAX / 2);
        let seen = feed(&mut progress, &"x".repeat(MAX_LINE * 3 + 5));
        assert_eq!(seen.len(), 3);
        assert!(progress.partial.len() <= MAX_LINE);
    }
}
