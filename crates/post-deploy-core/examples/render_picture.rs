//! Renders a window's picture (an SVG the monitor wrote) to a PNG at its own size, 800 px
//! wide, with the system's fonts: the README's screenshot is made with it
//! (`scripts/demo-picture`).
//!
//! `cargo run -p post-deploy-core --example render_picture -- IN.svg OUT.png`

#![allow(
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "an example program: it reads and writes files and says what went wrong"
)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [svg, png] = args.as_slice() else {
        eprintln!("usage: render_picture IN.svg OUT.png");
        return ExitCode::from(2);
    };
    match render(svg, png) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("render_picture: {e}");
            ExitCode::FAILURE
        }
    }
}

fn render(svg: &str, png: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(svg).map_err(|e| format!("reading {svg}: {e}"))?;
    let mut options = resvg::usvg::Options::default();
    options.fontdb_mut().load_system_fonts();
    let tree = resvg::usvg::Tree::from_str(&text, &options).map_err(|e| format!("{svg}: {e}"))?;
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| format!("{svg}: an empty picture"))?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    pixmap
        .save_png(png)
        .map_err(|e| format!("writing {png}: {e}"))
}
