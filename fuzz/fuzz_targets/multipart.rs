//! Multipart upload bodies, read by the server's own form reader (`library::upload::read_form`)
//! through axum's `Multipart`: any body either fails with a 400-class error or yields fields
//! within their limits and one file with an accepted name, whose bytes all reach the store.
#![no_main]
use assetport::error::AppError;
use assetport::library::upload::{read_form, Fields, FileSink};
use assetport::sanitize;
use axum::body::Body;
use axum::extract::multipart::Field;
use axum::extract::{FromRequest, Multipart, Request};
use futures_util::StreamExt;
use libfuzzer_sys::fuzz_target;

const BOUNDARY: &str = "fuzzboundary";

/// Reads the file part to its end and counts its bytes, as storage would.
struct Count;

impl FileSink for Count {
    type Stored = (String, usize);

    async fn store(
        &mut self,
        filename: String,
        _fields: &Fields,
        field: &mut Field<'_>,
    ) -> Result<(String, usize), AppError> {
        let mut n = 0;
        while let Some(chunk) = field.next().await {
            n += chunk
                .map_err(|e| AppError::BadRequest(e.to_string()))?
                .len();
        }
        Ok((filename, n))
    }
}

fuzz_target!(|data: &[u8]| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let request = Request::builder()
            .method("POST")
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(Body::from(data.to_vec()))
            .expect("request");
        let Ok(mut multipart) = Multipart::from_request(request, &()).await else {
            return;
        };
        let mut fields = Fields::default();
        let mut received: Option<(String, usize)> = None;
        let result = read_form(&mut multipart, &mut fields, &mut received, &mut Count).await;
        match result {
            Ok(()) => {
                for text in [&fields.title, &fields.description, &fields.keywords]
                    .into_iter()
                    .flatten()
                {
                    assert!(text.len() <= 64 * 1024);
                }
                if let Some((filename, n)) = &received {
                    assert_eq!(sanitize::name(filename).as_ref(), Ok(filename));
                    assert!(*n <= data.len());
                }
            }
            Err(e) => assert!(e.status().is_client_error(), "{e:?}"),
        }
    });
});
