//! `wandb-operator render`: print the objects of an install, like `helm template`.

use std::borrow::Cow;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use wandb_render::{Catalog, Release, objects};
use wandb_values::{Disk, FileReader, SetKind, Severity, Source};

/// Values given on the command line, as Helm takes them.
#[derive(Args, Debug, Clone, Default)]
pub struct ValuesArgs {
    /// A values file (YAML); repeat to merge several, later files win. `-` is stdin.
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Set a value: `a.b=c,d[0]=e` (types inferred as Helm does).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Set a string value, without type inference.
    #[arg(long = "set-string", value_name = "KEY=VALUE")]
    pub set_string: Vec<String>,
    /// Set a value from the contents of a file: `key=path`.
    #[arg(long = "set-file", value_name = "KEY=PATH")]
    pub set_file: Vec<String>,
    /// Set a JSON value: `key={"a":1}`.
    #[arg(long = "set-json", value_name = "KEY=JSON")]
    pub set_json: Vec<String>,
    /// Set a literal string value: everything after the first `=`.
    #[arg(long = "set-literal", value_name = "KEY=VALUE")]
    pub set_literal: Vec<String>,
    /// A release document to render with, in place of the built-in one
    /// (`wandb-operator catalog` prints that).
    #[arg(long = "catalog", value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    /// A W&B server manifest (a directory with manifest.yaml and
    /// sizing.yaml, as W&B ships them, or one file): render that W&B Server
    /// version, the values applying on top as in chart mode.
    #[arg(long = "manifest", value_name = "DIR|FILE")]
    pub manifest: Option<PathBuf>,
}

/// Values loaded with the release document they are rendered with.
pub struct Input {
    pub catalog: Cow<'static, Catalog>,
    pub loaded: wandb_values::Loaded,
}

fn print_warnings(loaded: &wandb_values::Loaded) {
    for w in loaded
        .warnings
        .iter()
        .filter(|w| w.severity == Severity::Warning)
    {
        eprintln!("warning: {w}");
    }
}

impl ValuesArgs {
    /// The release document: `--catalog`'s, else the built-in one. A
    /// document that cannot be read is an error naming its place.
    pub fn catalog(&self) -> Result<Cow<'static, Catalog>, ExitCode> {
        let base = self.base_catalog()?;
        let Some(path) = &self.manifest else {
            return Ok(base);
        };
        let fail = |what: String| {
            eprintln!("error: {what}");
            ExitCode::FAILURE
        };
        let manifest = wandb_render::manifest::read(path).map_err(|e| fail(e.to_string()))?;
        let version = wandb_render::manifest::version(&manifest).unwrap_or_else(|| {
            path.file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        wandb_render::manifest::catalog(&manifest, &version, &base)
            .map(Cow::Owned)
            .map_err(|e| fail(format!("{}: {e}", path.display())))
    }

    /// The document a manifest is laid on: `--catalog`'s, else the built-in one.
    fn base_catalog(&self) -> Result<Cow<'static, Catalog>, ExitCode> {
        let fail = |what: String| {
            eprintln!("error: {what}");
            ExitCode::FAILURE
        };
        match &self.catalog {
            None => Catalog::builtin()
                .map(Cow::Borrowed)
                .map_err(|e| fail(format!("the built-in release document: {e}"))),
            Some(path) => {
                let shown = path.display();
                let text = Disk
                    .read(path)
                    .map_err(|e| fail(format!("{shown}: cannot read the file: {e}")))?;
                Catalog::from_yaml(&text)
                    .map(Cow::Owned)
                    .map_err(|e| fail(format!("{shown}: {e}")))
            }
        }
    }

    /// Loads and validates the values with the release document; prints
    /// every problem (one line each) and every warning on stderr. `Err`
    /// means exit 1.
    pub fn load(&self) -> Result<Input, ExitCode> {
        let catalog = self.catalog()?;
        let loaded = wandb_values::load(&self.sources(), &mut Disk, catalog.additions())
            .map_err(print_errors)?;
        print_warnings(&loaded);
        Ok(Input { catalog, loaded })
    }

    /// The user's values as one tree (a resource's `spec.values`), checked
    /// as `load` checks them. The sources are read once: stdin (`-f -`)
    /// cannot be read twice.
    pub fn user_tree(&self, files: &mut dyn FileReader) -> Result<serde_json::Value, ExitCode> {
        let catalog = self.catalog()?;
        let tree = wandb_values::load::user_tree(&self.sources(), files).map_err(print_errors)?;
        let loaded = wandb_values::load::from_user_tree(tree.clone(), catalog.additions())
            .map_err(print_errors)?;
        print_warnings(&loaded);
        Ok(tree)
    }

    pub fn sources(&self) -> Vec<Source> {
        let mut out: Vec<Source> = self.files.iter().cloned().map(Source::File).collect();
        for (kind, list) in [
            (SetKind::Typed, &self.set),
            (SetKind::String, &self.set_string),
            (SetKind::File, &self.set_file),
            (SetKind::Json, &self.set_json),
            (SetKind::Literal, &self.set_literal),
        ] {
            out.extend(list.iter().map(|arg| Source::Set(kind, arg.clone())));
        }
        out
    }
}

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
    wandb-operator render --set global.host=https://wandb.example.com --set global.license=KEY\n  \
    wandb-operator render -f values.yaml --namespace wandb | kubectl apply --server-side -f -\n  \
    wandb-operator render -f values.yaml --output-dir manifests/\n  \
    wandb-operator render -f values.yaml --catalog my-release.yaml")]
pub struct RenderArgs {
    #[command(flatten)]
    pub values: ValuesArgs,
    /// Release name: the prefix of every object name.
    #[arg(long, default_value = "wandb")]
    pub name: String,
    /// Namespace of the install.
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// Write one file per object into this directory instead of printing.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Leave out the test pods (run by `helm test`).
    #[arg(long)]
    pub skip_tests: bool,
}

/// Prints problems, one line each; the exit code for them.
pub fn print_errors(problems: Vec<wandb_values::Problem>) -> ExitCode {
    for p in problems {
        eprintln!("error: {p}");
    }
    ExitCode::FAILURE
}

pub fn run(args: RenderArgs) -> ExitCode {
    let input = match args.values.load() {
        Ok(input) => input,
        Err(code) => return code,
    };
    let release = Release::new(&args.name, &args.namespace);
    let mut manifests = wandb_render::render(&input.catalog, &input.loaded.values, &release);
    if args.skip_tests {
        manifests.retain(|m| m.stage != wandb_render::Stage::Test);
    }
    let result = match &args.output_dir {
        Some(dir) => write_dir(dir, &manifests),
        None => crate::out::print(&objects::to_yaml(&manifests)),
    };
    crate::out::exit_code(result)
}

fn write_dir(dir: &std::path::Path, manifests: &[wandb_render::Manifest]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (i, m) in manifests.iter().enumerate() {
        let file = dir.join(format!(
            "{i:03}-{}-{}.yaml",
            m.object.kind().to_lowercase(),
            m.object.name()
        ));
        std::fs::write(file, objects::to_yaml(std::slice::from_ref(m)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Stdin: its text the first time, nothing after that.
    struct Stdin(Option<String>);

    impl FileReader for Stdin {
        fn read(&mut self, path: &Path) -> std::io::Result<String> {
            assert_eq!(path, Path::new("-"));
            Ok(self.0.take().unwrap_or_default())
        }
    }

    #[test]
    fn the_user_tree_of_stdin_holds_what_was_piped() {
        let args = ValuesArgs {
            files: vec![PathBuf::from("-")],
            set: vec!["global.license=test".into()],
            ..ValuesArgs::default()
        };
        let mut stdin = Stdin(Some("global:\n  host: https://wandb.example.com\n".into()));
        let tree = args.user_tree(&mut stdin).expect("valid values");
        assert_eq!(
            tree,
            serde_json::json!({"global": {"host": "https://wandb.example.com", "license": "test"}})
        );
    }

    #[test]
    fn bad_values_on_stdin_are_refused() {
        let args = ValuesArgs {
            files: vec![PathBuf::from("-")],
            ..ValuesArgs::default()
        };
        let mut stdin = Stdin(Some("app:\n  replicaCount: -1\n".into()));
        assert!(args.user_tree(&mut stdin).is_err());
    }
}
