//! One pass of a job's output mapping: tables planned and checked, files uploaded, tables
//! loaded in one transaction — and the uploaded files removed again when the tables fail.

use time::OffsetDateTime;

use crate::record::{FileMove, TableMove};
use berth_staging::StagingError;
use berth_staging::out_dir::OutDir;
use berth_staging::output_files::{plan_output_files, remove_uploaded, upload};
use berth_staging::output_tables::{
    OutputTablesConfig, check_against_storage, check_scope, default_bucket, load_output_tables,
    plan_output_tables,
};
use berth_storage::Backend;

use super::{Job, Prepared};

impl Job<'_> {
    /// One pass of the output mapping; `failed` loads only `write_always` tables and no files.
    /// The planned output is checked against `limits.output_bytes` and the free space of the
    /// Storage volume before anything is copied.
    pub(super) fn output(
        &mut self,
        storage: &mut dyn Backend,
        prepared: &Prepared,
        out: &OutDir,
        failed: bool,
    ) -> Result<(), StagingError> {
        out.start_pass();
        let local_storage = self
            .home
            .shared_storage()
            .is_none()
            .then(|| self.home.storage());
        out.check_output_budget(local_storage.as_deref())?;
        let output = &prepared.config.config.storage.output;
        let bucket = default_bucket(
            output.default_bucket.as_deref(),
            &prepared.component,
            self.ids.config_id.as_deref(),
        )?;
        let scratch = self
            .work
            .join(if failed { "scratch-failed" } else { "scratch" });
        let cfg = OutputTablesConfig {
            mapping: &output.tables,
            default_bucket: bucket.as_deref(),
            ids: &self.ids,
            failed_job: failed,
            scratch: &scratch,
            now: OffsetDateTime::now_utc(),
        };
        let plan = plan_output_tables(out, &cfg)?;
        for warning in &plan.warnings {
            if !self.record.warnings.contains(warning) {
                self.record.warnings.push(warning.clone());
            }
        }
        check_scope(
            &plan,
            prepared.component.output_scope,
            &output.tables,
            bucket.as_deref(),
        )?;
        check_against_storage(storage, &plan)?;
        let files = if failed {
            Vec::new()
        } else {
            plan_output_files(out, &output.files, &self.ids)?
        };
        let uploaded = upload(storage, &files)?;
        let progress = self.progress;
        let loaded = match load_output_tables(storage, &plan, |t| progress.table_out(t)) {
            Ok(loaded) => loaded,
            Err(e) => {
                remove_uploaded(storage, &uploaded);
                return Err(e);
            }
        };
        self.record
            .output
            .tables
            .extend(loaded.iter().map(|t| TableMove {
                table: t.destination.clone(),
                file: t.source.clone(),
                rows: t.rows_imported,
                table_rows: Some(t.rows),
            }));
        self.record
            .output
            .files
            .extend(uploaded.into_iter().map(|f| FileMove {
                id: f.id,
                name: f.name,
                bytes: f.bytes,
                tags: f.tags,
            }));
        Ok(())
    }
}
