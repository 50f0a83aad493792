//! Knowing that a response body went out to its last byte: what an access log calls a completed
//! download, as opposed to one that was started and abandoned.
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use futures_util::Stream;

type Done = Box<dyn FnOnce() + Send>;

/// Calls `done` once the body of `response` has been handed over completely; never when the
/// stream fails or the client goes away first.
pub fn on_complete(response: Response, done: Done) -> Response {
    let (parts, body) = response.into_parts();
    // With a Content-Length, the server stops polling once that many bytes went out, so the
    // end is "all bytes seen", not the stream's end.
    let expected = parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let stream = Completion {
        inner: body.into_data_stream(),
        done: Some(done),
        sent: 0,
        expected,
    };
    Response::from_parts(parts, Body::from_stream(stream))
}

struct Completion<S> {
    inner: S,
    done: Option<Done>,
    sent: u64,
    expected: Option<u64>,
}

impl<S> Stream for Completion<S>
where
    S: Stream<Item = Result<Bytes, axum::Error>> + Unpin,
{
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = Pin::new(&mut self.inner).poll_next(cx);
        match &item {
            Poll::Ready(Some(Ok(chunk))) => {
                self.sent += chunk.len() as u64;
                if self.expected.is_some_and(|n| self.sent >= n) {
                    if let Some(done) = self.done.take() {
                        done();
                    }
                }
            }
            Poll::Ready(None) => {
                if let Some(done) = self.done.take() {
                    done();
                }
            }
            Poll::Ready(Some(Err(_))) => {
                self.done = None;
            }
            _ => {}
        }
        item
    }
}
