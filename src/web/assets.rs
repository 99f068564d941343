//! Static files compiled into the binary (one binary is all an operator deploys), served with long cache
//! lifetimes. Their URLs carry a content hash (`?v=`), so a new release is fetched anew.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use sha2::{Digest, Sha256};

struct Asset {
    path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "app.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../static/app.css"),
    },
    Asset {
        path: "favicon.svg",
        content_type: "image/svg+xml",
        bytes: include_bytes!("../../static/favicon.svg"),
    },
    Asset {
        path: "vendor/pico-2.1.1.min.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../static/vendor/pico-2.1.1.min.css"),
    },
    Asset {
        path: "vendor/htmx-2.0.11.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../static/vendor/htmx-2.0.11.min.js"),
    },
    Asset {
        path: "vendor/htmx-ext-sse-2.2.4.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../static/vendor/htmx-ext-sse-2.2.4.js"),
    },
    Asset {
        path: "vendor/LICENSE-htmx",
        content_type: "text/plain; charset=utf-8",
        bytes: include_bytes!("../../static/vendor/LICENSE-htmx"),
    },
    Asset {
        path: "vendor/LICENSE-htmx-ext-sse",
        content_type: "text/plain; charset=utf-8",
        bytes: include_bytes!("../../static/vendor/LICENSE-htmx-ext-sse"),
    },
    Asset {
        path: "vendor/LICENSE-pico.md",
        content_type: "text/plain; charset=utf-8",
        bytes: include_bytes!("../../static/vendor/LICENSE-pico.md"),
    },
];

/// A short hash of every asset, appended to asset URLs to bust caches when any of them changes.
pub fn version() -> String {
    let mut h = Sha256::new();
    for a in ASSETS {
        h.update(a.path.as_bytes());
        h.update(a.bytes);
    }
    hex::encode(&h.finalize()[..6])
}

/// `GET /static/{path}`: only the files listed above, whatever the path says.
pub async fn serve(path: web::Path<String>) -> HttpResponse {
    match ASSETS.iter().find(|a| a.path == path.as_str()) {
        Some(a) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, a.content_type))
            .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .body(a.bytes),
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("not found"),
    }
}

/// `GET /favicon.ico`: browsers ask for it on pages with no `<link rel="icon">` (JSON, plain-text answers); the
/// same SVG the pages link, short-lived since this URL carries no version.
pub async fn favicon() -> HttpResponse {
    match ASSETS.iter().find(|a| a.path == "favicon.svg") {
        Some(a) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, a.content_type))
            .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .body(a.bytes),
        None => HttpResponse::NotFound().finish(),
    }
}
