mod common;
use common::*;

async fn server_starts_and_is_ready(app: TestApp) {
    let r = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(r.status(), 200);
    let admin = app.admin().await;
    let f = admin.folder(None, "Top").await;
    let asset = admin.upload(&f, "a.txt", b"hello".to_vec()).await;
    assert_eq!(asset["status"], "draft");
}

on_both_backends!(server_starts_and_is_ready);
