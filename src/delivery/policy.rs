//! The download decision as a pure function: given what is asked, by whom, and what the
//! caller has proven, may bytes leave, and does this response count as a download? No I/O, so
//! every rule is checked below as one row of a table.
use crate::error::AppError;

/// What is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    /// The original file.
    Original,
    /// A thumbnail, shown: part of browsing.
    Thumb,
    /// A preview, shown in the page.
    Preview,
    /// A rendition saved as a file (`?download=1`).
    RenditionFile,
    /// Several assets as one streamed ZIP.
    Zip,
    /// A download preset (a JPEG at a fixed size, `renditions::presets`): made from the
    /// original, so it needs what the original needs.
    Preset(crate::renditions::presets::Preset),
}

/// Who asks, and what they have proven.
#[derive(Clone, Copy, Debug)]
pub enum Caller {
    /// A signed-in member or admin who can see the asset (`access` already said so), with or
    /// without the `download` right on it.
    Member { download: bool },
    /// A share link's visitor.
    Link {
        /// Past the password and code gates.
        open: bool,
        /// Licence terms accepted (or none to accept).
        terms_ok: bool,
        allow_original: bool,
        /// The download limit is used up (as read with the link on this request).
        exhausted: bool,
        /// The download presets the link offers.
        presets: crate::renditions::presets::PresetSet,
    },
    /// An upload link's sender fetching a reference file of the brief.
    UploadLink { unlocked: bool },
}

/// How the request meets the bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Request {
    /// HEAD: headers only.
    pub head: bool,
    /// Answered 304 (If-None-Match matched): no bytes.
    pub not_modified: bool,
    /// A Range request after byte 0 carrying a valid resume token for this caller and object
    /// (`resume`): it continues a download already counted.
    pub continuing: bool,
}

/// Why bytes may not leave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not there for this caller (SPEC §2.1: exactly like something missing).
    NotFound,
    /// The link's password or code gate is not passed.
    Locked,
    /// The link's licence terms are not accepted.
    Terms,
    /// The link's download limit is used up.
    Exhausted,
}

impl Refusal {
    pub fn error(self) -> AppError {
        match self {
            Refusal::NotFound => AppError::NotFound,
            Refusal::Locked => AppError::Forbidden("Open the link and unlock it first.".into()),
            Refusal::Terms => AppError::Forbidden(
                "Accept the usage terms on the link's page before downloading.".into(),
            ),
            Refusal::Exhausted => AppError::GoneWith(
                "This link has reached its download limit. Open the link's page to ask the sender \
                 for more downloads."
                    .into(),
            ),
        }
    }
}

/// The answer: refused, or served and counted (reserved against the limit, recorded once) or
/// not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Refuse(Refusal),
    Serve { counts: bool },
}

/// The rules, in SPEC's words (docs/architecture.md "One download decision"):
/// - A thumbnail or an inline preview is browsing: a member who can see the asset gets it, and
///   it never counts. Through a link, thumbnails need the password and code gates; previews
///   also the licence terms (on a renditions-only link the preview *is* the deliverable).
/// - Originals, renditions saved as files and ZIPs are downloads: members need `download`;
///   link visitors need the gates, the terms, and (originals, ZIPs) `allow_original`.
/// - An exhausted link serves no bytes of originals or previews, except to resume a download
///   it already counted.
/// - A download counts when it sends bytes and does not continue a counted one: HEAD and 304
///   never count; a Range request counts unless it carries a resume token and starts after
///   byte 0.
pub fn decide(caller: Caller, want: Want, req: Request) -> Verdict {
    use Refusal::*;
    let download = matches!(
        want,
        Want::Original | Want::RenditionFile | Want::Zip | Want::Preset(_)
    );
    let counts = download && !req.head && !req.not_modified && !req.continuing;
    match caller {
        Caller::Member { download: may } => {
            if download && !may {
                return Verdict::Refuse(NotFound);
            }
        }
        Caller::Link {
            open,
            terms_ok,
            allow_original,
            exhausted,
            presets,
        } => {
            if !open {
                return Verdict::Refuse(Locked);
            }
            // A size the admin did not offer on this link is not there.
            if let Want::Preset(p) = want {
                if !presets.contains(p) {
                    return Verdict::Refuse(NotFound);
                }
            }
            // A preset is the original at another size: a renditions-only link (previews,
            // watermarked when the admin set a mark) offers none.
            if matches!(want, Want::Original | Want::Zip | Want::Preset(_)) && !allow_original {
                return Verdict::Refuse(NotFound);
            }
            if want != Want::Thumb && !terms_ok {
                return Verdict::Refuse(Terms);
            }
            if want != Want::Thumb && exhausted && !req.continuing {
                return Verdict::Refuse(Exhausted);
            }
        }
        Caller::UploadLink { unlocked } => {
            if !unlocked || want != Want::Original {
                return Verdict::Refuse(NotFound);
            }
        }
    }
    Verdict::Serve { counts }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Refusal::*;
    use Verdict::*;
    use Want::*;

    const WEB: crate::renditions::presets::Preset = crate::renditions::presets::Preset::Web;

    const GET: Request = Request {
        head: false,
        not_modified: false,
        continuing: false,
    };
    const HEAD: Request = Request {
        head: true,
        not_modified: false,
        continuing: false,
    };
    const RESUME: Request = Request {
        head: false,
        not_modified: false,
        continuing: true,
    };
    const NOT_MODIFIED: Request = Request {
        head: false,
        not_modified: true,
        continuing: false,
    };

    fn link(open: bool, terms_ok: bool, allow_original: bool, exhausted: bool) -> Caller {
        Caller::Link {
            open,
            terms_ok,
            allow_original,
            exhausted,
            presets: crate::renditions::presets::PresetSet::ALL,
        }
    }

    #[test]
    fn the_table() {
        let member = Caller::Member { download: true };
        let viewer = Caller::Member { download: false };
        let open = link(true, true, true, false);
        let previews_only = link(true, true, false, false);
        let no_terms = link(true, false, false, false);
        let locked = link(false, true, true, false);
        let used_up = link(true, true, true, true);
        let used_up_previews = link(true, true, false, true);
        let sender = Caller::UploadLink { unlocked: true };
        let small_only = Caller::Link {
            open: true,
            terms_ok: true,
            allow_original: true,
            exhausted: false,
            presets: crate::renditions::presets::PresetSet::parse(&["small"]).unwrap(),
        };
        let rows: &[(Caller, Want, Request, Verdict)] = &[
            // Members: browsing never counts, downloads need the right and count once.
            (member, Original, GET, Serve { counts: true }),
            (member, Original, HEAD, Serve { counts: false }),
            (member, Original, RESUME, Serve { counts: false }),
            (member, Original, NOT_MODIFIED, Serve { counts: false }),
            (member, RenditionFile, GET, Serve { counts: true }),
            (member, Preview, GET, Serve { counts: false }),
            (member, Zip, GET, Serve { counts: true }),
            (member, Zip, HEAD, Serve { counts: false }),
            (viewer, Original, GET, Refuse(NotFound)),
            (viewer, RenditionFile, GET, Refuse(NotFound)),
            (viewer, Zip, GET, Refuse(NotFound)),
            (viewer, Preview, GET, Serve { counts: false }),
            (viewer, Thumb, GET, Serve { counts: false }),
            // Links: gates first, then what the link allows, then the limit.
            (locked, Thumb, GET, Refuse(Locked)),
            (locked, Original, RESUME, Refuse(Locked)),
            (open, Thumb, GET, Serve { counts: false }),
            (open, Preview, GET, Serve { counts: false }),
            (open, Original, GET, Serve { counts: true }),
            (open, Original, HEAD, Serve { counts: false }),
            (open, Original, RESUME, Serve { counts: false }),
            (open, Zip, GET, Serve { counts: true }),
            (previews_only, Original, GET, Refuse(NotFound)),
            (previews_only, Zip, GET, Refuse(NotFound)),
            (previews_only, Preset(WEB), GET, Refuse(NotFound)),
            (small_only, Preset(WEB), GET, Refuse(NotFound)),
            (small_only, Preset(WEB), RESUME, Refuse(NotFound)),
            (small_only, Original, GET, Serve { counts: true }),
            (open, Preset(WEB), GET, Serve { counts: true }),
            (open, Preset(WEB), HEAD, Serve { counts: false }),
            (open, Preset(WEB), RESUME, Serve { counts: false }),
            (used_up, Preset(WEB), GET, Refuse(Exhausted)),
            (used_up, Preset(WEB), RESUME, Serve { counts: false }),
            (viewer, Preset(WEB), GET, Refuse(NotFound)),
            (member, Preset(WEB), GET, Serve { counts: true }),
            (previews_only, RenditionFile, GET, Serve { counts: true }),
            (no_terms, Thumb, GET, Serve { counts: false }),
            (no_terms, Preview, GET, Refuse(Terms)),
            (no_terms, RenditionFile, GET, Refuse(Terms)),
            (no_terms, RenditionFile, HEAD, Refuse(Terms)),
            (used_up, Thumb, GET, Serve { counts: false }),
            (used_up, Original, GET, Refuse(Exhausted)),
            (used_up, Original, HEAD, Refuse(Exhausted)),
            (used_up, Original, NOT_MODIFIED, Refuse(Exhausted)),
            (used_up, Original, RESUME, Serve { counts: false }),
            (used_up, Zip, GET, Refuse(Exhausted)),
            (used_up_previews, Preview, GET, Refuse(Exhausted)),
            (used_up_previews, RenditionFile, GET, Refuse(Exhausted)),
            (
                used_up_previews,
                RenditionFile,
                RESUME,
                Serve { counts: false },
            ),
            // Upload links: only their brief's originals, uncounted against anything but logged.
            (sender, Original, GET, Serve { counts: true }),
            (sender, Original, HEAD, Serve { counts: false }),
            (sender, Preview, GET, Refuse(NotFound)),
            (
                Caller::UploadLink { unlocked: false },
                Original,
                GET,
                Refuse(NotFound),
            ),
        ];
        for (i, (caller, want, req, expected)) in rows.iter().enumerate() {
            assert_eq!(
                decide(*caller, *want, *req),
                *expected,
                "row {i}: {caller:?} {want:?} {req:?}"
            );
        }
    }
}
