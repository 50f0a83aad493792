//! Branding (issue 7): an admin sets the portal's name, accent colour, logo, sign-in background
//! and email footer; every page, share-link page and email shows them. Bad values are refused
//! with nothing changed.
mod common;

use common::*;
use serde_json::json;

fn png(w: u32, h: u32) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_pixel(w, h, image::Rgb([164, 22, 26]))
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

fn jpeg() -> Vec<u8> {
    let pixels = [20u8, 40, 80].repeat(64 * 40);
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 85)
        .encode(&pixels, 64, 40, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    out
}

/// Posts the branding form as a browser does (multipart, CSRF token in the URL).
async fn save(
    b: &Browser,
    fields: &[(&str, &str)],
    files: Vec<(&str, &str, Vec<u8>)>,
) -> reqwest::Response {
    let csrf = b.csrf("/account").await;
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    for (field, name, bytes) in files {
        form = form.part(
            field.to_string(),
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
    }
    b.client
        .post(b.url(&format!("/admin/branding?csrf_token={csrf}")))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

const GOOD: [(&str, &str); 3] = [
    ("name", "Acme Brand Hub"),
    ("accent", "#A4161A"),
    ("mail_footer", "Acme Corp · Brand team\nbrand@acme.example"),
];

async fn branding_reaches_every_page_link_and_email(app: TestApp) {
    let admin_api = app.admin().await;
    let b = app.browser();
    b.login_ok("admin@example.com").await;
    let folder = admin_api.folder(None, "Campaign").await;
    let asset = admin_api
        .published(&folder, "poster.pdf", b"poster".to_vec())
        .await;

    // Refused, and nothing changes: bad colour, too little contrast, a non-image "logo",
    // an empty name, an oversized logo.
    type Case<'a> = (
        Vec<(&'a str, &'a str)>,
        Vec<(&'a str, &'a str, Vec<u8>)>,
        u16,
    );
    let cases: Vec<Case> = vec![
        (vec![("name", "X"), ("accent", "#fff")], vec![], 400),
        (vec![("name", "X"), ("accent", "#ffff00")], vec![], 422),
        (vec![("name", "  "), ("accent", "#a4161a")], vec![], 400),
        (
            GOOD.to_vec(),
            vec![(
                "logo",
                "logo.svg",
                b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>"
                    .to_vec(),
            )],
            415,
        ),
        (
            GOOD.to_vec(),
            vec![("logo", "huge.png", vec![0x89; 1024 * 1024 + 10])],
            413,
        ),
    ];
    for (fields, files, status) in cases {
        let r = save(&b, &fields, files).await;
        assert_eq!(r.status(), status, "{fields:?}");
        assert!(r.text().await.unwrap().contains("Nothing was changed"));
    }
    let (_, home) = b.page("/").await;
    assert!(
        home.contains("<title>Library · assetport</title>"),
        "unchanged"
    );

    // Saved.
    let r = save(
        &b,
        &GOOD,
        vec![
            ("logo", "logo.png", png(120, 40)),
            ("background", "bg.jpg", jpeg()),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let (_, home) = b.page("/").await;
    assert!(home.contains("<title>Library · Acme Brand Hub</title>"));
    assert!(home.contains("Branding saved"));
    let logo_url = {
        let start = home.find("/brand/logo?v=").expect("the logo in the header");
        home[start..].split('"').next().unwrap().to_string()
    };
    // The logo replaces the name in the header, and carries it as its text.
    assert!(
        home.contains(&format!("src=\"{logo_url}\" alt=\"Acme Brand Hub\"")),
        "{home}"
    );
    assert!(!home.contains("class=\"brand-name\""), "{home}");
    let css_url = {
        let start = home.find("/brand.css?v=").unwrap();
        home[start..].split('"').next().unwrap().to_string()
    };
    let css = b.get(&css_url).await;
    assert_eq!(
        css.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let css = css.text().await.unwrap();
    assert!(css.contains("--accent: #a4161a;"), "{css}");
    assert!(css.contains("/brand/background?v="));
    let logo = b.get(&logo_url).await;
    assert_eq!(logo.status(), 200);
    assert_eq!(logo.headers()["content-type"], "image/png");
    assert_eq!(logo.headers()["x-content-type-options"], "nosniff");
    assert_eq!(logo.bytes().await.unwrap().to_vec(), png(120, 40));

    // Anonymous pages: sign-in (with the background class) and a share link.
    let (_, login) = app.browser().page("/login").await;
    assert!(login.contains("Acme Brand Hub"));
    assert!(login.contains("class=\"signin\""));
    let link = admin_api
        .create_link(json!({
            "asset_ids": [asset],
            "recipients": ["buyer@shop.example"],
            "message": "The spring poster"
        }))
        .await;
    let page = text_of(&visitor(), &link.url).await;
    assert!(page.contains("Acme Brand Hub"));
    assert!(page.contains("/brand/logo?v="));

    // Email: sent by the portal's name, ending with the footer.
    let mail = app.wait_for_mail("buyer@shop.example", |_| true).await;
    assert!(mail.contains("From: \"Acme Brand Hub\""), "{mail}");
    assert!(mail.contains("Acme Corp"), "{mail}");

    // Removing the logo goes back to the mark; the old image URL no longer answers.
    let mut fields = GOOD.to_vec();
    fields.push(("remove_logo", "on"));
    assert_eq!(save(&b, &fields, vec![]).await.status(), 303);
    let (_, home) = b.page("/").await;
    assert!(!home.contains("/brand/logo?v="));
    assert_eq!(b.get(&logo_url).await.status(), 404);

    // Branding is for admins.
    app.member("shop@retail.example", &[]).await;
    let m = app.browser();
    m.login_ok("shop@retail.example").await;
    assert_eq!(m.get("/admin/branding").await.status(), 404);
    let r = save(&m, &GOOD, vec![]).await;
    assert_eq!(r.status(), 404);
}

/// A 200×50 wordmark in `colour` on a transparent ground, with what a hostile SVG carries: a
/// script, an external image and an event handler. Drawn, none of them survives.
fn wordmark(colour: &str) -> Vec<u8> {
    format!(
        r#"<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="200" height="50" onload="alert(1)">
<script>alert(document.cookie)</script>
<image xlink:href="file:///etc/passwd" width="10" height="10"/>
<image href="http://127.0.0.1:9/x.png" width="10" height="10"/>
<rect x="100" y="0" width="100" height="50" fill="{colour}"/>
</svg>"#
    )
    .into_bytes()
}

fn header_of(page: &str) -> &str {
    let start = page.find("<header class=\"topbar ").expect("the top bar");
    page[start..].split('>').next().unwrap()
}

async fn the_header_style_tagline_and_an_svg_logo_are_chosen_and_kept_visible(app: TestApp) {
    app.admin().await;
    let b = app.browser();
    b.login_ok("admin@example.com").await;
    let (_, home) = b.page("/").await;
    // The look before anything is chosen: the dark bar, the default tagline.
    assert!(
        header_of(&home).contains("header-dark"),
        "{}",
        header_of(&home)
    );
    assert!(home.contains("assetport · approved assets, delivered"));

    // A dark SVG wordmark on the light header, with a tagline of the brand's own.
    let mut fields = GOOD.to_vec();
    fields.extend([
        ("header", "light"),
        ("tagline", "Brand assets for partners"),
    ]);
    let r = save(&b, &fields, vec![("logo", "mark.svg", wordmark("#111111"))]).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let (_, home) = b.page("/").await;
    assert!(
        header_of(&home).contains("header-light"),
        "{}",
        header_of(&home)
    );
    assert!(home.contains("Acme Brand Hub · Brand assets for partners"));
    // The SVG is served as the PNG the sandboxed renderer drew: transparent where it drew
    // nothing, the wordmark's colour where it did, no markup left.
    let start = home.find("/brand/logo?v=").expect("the logo in the header");
    let logo_url = home[start..].split('"').next().unwrap().to_string();
    let r = b.get(&logo_url).await;
    assert_eq!(r.headers()["content-type"], "image/png");
    let bytes = r.bytes().await.unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains("script"));
    let drawn = image::load_from_memory(&bytes).unwrap().to_rgba8();
    assert_eq!(drawn.dimensions(), (512, 128));
    assert_eq!(
        drawn.get_pixel(20, 64)[3],
        0,
        "the empty half stays transparent"
    );
    assert_eq!(drawn.get_pixel(400, 64).0, [0x11, 0x11, 0x11, 255]);
    // The CSS gives each style its bar.
    let css = b.get("/static/app.css").await.text().await.unwrap();
    assert!(css.contains(".topbar.header-light { --bar-bg: #fff;"));

    // The dark wordmark would vanish on the dark bar: refused, nothing changed.
    let mut dark = GOOD.to_vec();
    dark.push(("header", "dark"));
    let r = save(&b, &dark, vec![]).await;
    assert_eq!(r.status(), 422);
    let text = r.text().await.unwrap();
    assert!(text.contains("Nothing was changed"), "{text}");
    assert!(
        text.contains("would hardly show on the dark header"),
        "{text}"
    );
    let (_, home) = b.page("/").await;
    assert!(header_of(&home).contains("header-light"));
    // A white wordmark on the light bar likewise.
    let r = save(
        &b,
        &fields,
        vec![("logo", "white.svg", wordmark("#ffffff"))],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("the logo is light"));
    // The same white wordmark on the accent bar is fine; so is an opaque logo anywhere (it
    // carries its own ground).
    let mut accent = GOOD.to_vec();
    accent.push(("header", "accent"));
    // A near-black wordmark on the (dark red) accent bar: 2:1, under the 3:1 graphics need.
    let r = save(&b, &accent, vec![("logo", "ink.svg", wordmark("#1b1f2a"))]).await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("hardly show on the accent header"));
    let r = save(
        &b,
        &accent,
        vec![("logo", "white.svg", wordmark("#ffffff"))],
    )
    .await;
    assert_eq!(r.status(), 303);
    let (_, home) = b.page("/").await;
    assert!(header_of(&home).contains("header-accent"));
    let r = save(&b, &dark, vec![("logo", "logo.png", png(120, 40))]).await;
    assert_eq!(r.status(), 303);
    // Judged pixel by pixel, not on average: a wordmark half black, half white shows on the
    // light bar (its black half stands out) though its mean is a middling grey.
    let two_tone = String::from_utf8(wordmark("#111111")).unwrap().replace(
        "</svg>",
        r##"<rect x="0" y="0" width="100" height="50" fill="#ffffff"/></svg>"##,
    );
    let mut light = GOOD.to_vec();
    light.push(("header", "light"));
    let r = save(&b, &light, vec![("logo", "two.svg", two_tone.into_bytes())]).await;
    assert_eq!(r.status(), 303);

    // Bad values: an unknown style, a tagline over 120 characters or with a line break.
    let long = "x".repeat(121);
    for (field, value) in [
        ("header", "purple"),
        ("tagline", long.as_str()),
        ("tagline", "a\nb"),
    ] {
        let mut f = GOOD.to_vec();
        f.push((field, value));
        let r = save(&b, &f, vec![]).await;
        assert_eq!(r.status(), 400, "{field}={value}");
        assert!(r.text().await.unwrap().contains("Nothing was changed"));
    }
    // An empty tagline leaves the name alone.
    let mut f = GOOD.to_vec();
    f.push(("tagline", ""));
    assert_eq!(save(&b, &f, vec![]).await.status(), 303);
    let (_, home) = b.page("/").await;
    assert!(
        home.contains("<footer class=\"footer\">Acme Brand Hub</footer>"),
        "{home}"
    );
}

on_both_backends!(
    branding_reaches_every_page_link_and_email,
    the_header_style_tagline_and_an_svg_logo_are_chosen_and_kept_visible,
);
