//! From an OTLP/HTTP export request to `ExportTraceServiceRequest`, and back to the answer OTLP prescribes, in the
//! request's own encoding: binary protobuf (`application/x-protobuf`) or OTLP/JSON (`application/json`, ids as
//! hex, 64-bit integers as strings or numbers), optionally gzipped (`Content-Encoding: gzip`).

use std::io::Read;

use axum::http::{header, HeaderMap, StatusCode};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;

/// Most bytes a gzipped body may inflate to: a zip bomb must not exhaust the counterpart's memory.
pub const MAX_INFLATED: u64 = 16 * 1024 * 1024;

/// The two encodings of OTLP/HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Protobuf => "protobuf",
            Encoding::Json => "json",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// Why an export was refused; each maps to the status OTLP/HTTP gives it.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error(
        "unsupported Content-Type `{0}` (OTLP/HTTP is application/x-protobuf or application/json)"
    )]
    MediaType(String),
    #[error("unsupported Content-Encoding `{0}` (gzip or none)")]
    ContentEncoding(String),
    #[error("the gzip body could not be inflated: {0}")]
    Gzip(std::io::Error),
    #[error("the gzip body inflates past {MAX_INFLATED} bytes")]
    TooLarge,
    #[error("not an ExportTraceServiceRequest in protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
    #[error("not an ExportTraceServiceRequest in OTLP/JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl DecodeError {
    /// 415 for what the receiver does not speak, 400 for a body it cannot read.
    pub fn status(&self) -> StatusCode {
        match self {
            DecodeError::MediaType(_) | DecodeError::ContentEncoding(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// The encoding named by the request's `Content-Type` (parameters such as `charset` ignored).
pub fn encoding(headers: &HeaderMap) -> Result<Encoding, DecodeError> {
    let given = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = given.split(';').next().unwrap_or("").trim();
    match essence.to_ascii_lowercase().as_str() {
        "application/x-protobuf" | "application/protobuf" => Ok(Encoding::Protobuf),
        "application/json" => Ok(Encoding::Json),
        _ => Err(DecodeError::MediaType(given.to_string())),
    }
}

/// Decodes the body of an export request whose headers are `headers`.
pub fn request(
    encoding: Encoding,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<ExportTraceServiceRequest, DecodeError> {
    let content_encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let inflated;
    let body = match content_encoding.as_str() {
        "" | "identity" => body,
        "gzip" => {
            inflated = gunzip(body)?;
            &inflated[..]
        }
        other => return Err(DecodeError::ContentEncoding(other.to_string())),
    };
    Ok(match encoding {
        Encoding::Protobuf => ExportTraceServiceRequest::decode(body)?,
        Encoding::Json => serde_json::from_slice(body)?,
    })
}

fn gunzip(body: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .take(MAX_INFLATED + 1)
        .read_to_end(&mut out)
        .map_err(DecodeError::Gzip)?;
    if out.len() as u64 > MAX_INFLATED {
        return Err(DecodeError::TooLarge);
    }
    Ok(out)
}

/// The success answer: an `ExportTraceServiceResponse`, with a partial success when `rejected` spans were not
/// kept (the receiver was full).
pub fn success(
    encoding: Encoding,
    rejected: i64,
) -> (StatusCode, [(header::HeaderName, &'static str); 1], Vec<u8>) {
    let partial_success = (rejected > 0).then(|| ExportTracePartialSuccess {
        rejected_spans: rejected,
        error_message: "the receiver keeps a bounded number of spans and is full".to_string(),
    });
    let response = ExportTraceServiceResponse { partial_success };
    let body = match encoding {
        Encoding::Protobuf => response.encode_to_vec(),
        Encoding::Json => serde_json::to_vec(&response).unwrap_or_else(|_| b"{}".to_vec()),
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, encoding.content_type())],
        body,
    )
}

/// `google.rpc.Status`, the body OTLP/HTTP sends with a refusal (not among opentelemetry-proto's messages).
#[derive(Clone, PartialEq, Message, serde::Serialize)]
struct Status {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// The refusal of a request that could not be read, in `encoding` when it is known (else JSON).
pub fn refusal(
    encoding: Option<Encoding>,
    error: &DecodeError,
) -> (StatusCode, [(header::HeaderName, &'static str); 1], Vec<u8>) {
    // gRPC's INVALID_ARGUMENT, as OTLP/HTTP's Status carries it.
    let status = Status {
        code: 3,
        message: error.to_string(),
    };
    let encoding = encoding.unwrap_or(Encoding::Json);
    let body = match encoding {
        Encoding::Protobuf => status.encode_to_vec(),
        Encoding::Json => serde_json::to_vec(&status).unwrap_or_default(),
    };
    (
        error.status(),
        [(header::CONTENT_TYPE, encoding.content_type())],
        body,
    )
}
