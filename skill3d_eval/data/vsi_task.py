"""The lmms-eval task class of `vsi_bench` (its YAML's `class:`): lmms-eval's own download, guarded.

Loading stays lmms-eval's (`ConfigurableTask.download` with `dataset_kwargs: {video: true,
cache_dir: vsibench}`: `snapshot_download`, then the archives unzipped into `$HF_HOME/vsibench`);
`vsi_videos.HubVideos` runs before it (offline with nothing cached: a DataError naming what is
missing, not five retried downloads and a score of 0; the process exits with
`EXIT_PREFLIGHT`) and after it (a partial unpack completed,
every question's video present). Sources without `video: true` (the override YAMLs of
`skill3d-eval data`) load exactly as lmms-eval loads them. Imported only by lmms-eval: it pulls
in `lmms_eval.api.task`.
"""

from __future__ import annotations

from typing import Any

from lmms_eval.api.task import ConfigurableTask
from loguru import logger

from skill3d_eval.data.archives import hub_cache_dir
from skill3d_eval.data.errors import DataError
from skill3d_eval.data.vsi_videos import HubVideos, hub_offline
from skill3d_eval.lmms import exit_status
from skill3d_eval.outcome import PreflightError


class VsiBenchTask(ConfigurableTask):
    def __init__(self, config: dict[str, Any]):
        # lmms-eval hands a class task its whole YAML, `class:` included, which TaskConfig rejects.
        super().__init__(config={key: value for key, value in config.items() if key != "class"})

    def download(self, dataset_kwargs: dict[str, Any] | None = None) -> None:
        if not (dataset_kwargs or {}).get("video"):
            return super().download(dataset_kwargs)
        try:
            self._download_videos(dataset_kwargs)
        except DataError as error:
            # lmms-eval logs a task's exception and exits 0; SystemExit passes through it.
            exit_status.abort(PreflightError(str(error)))

    def _download_videos(self, dataset_kwargs: dict[str, Any]) -> None:
        archives = tuple(dataset_kwargs.pop("video_archives", ()))
        videos = HubVideos(
            repo_id=self.DATASET_PATH,
            root=hub_cache_dir(dataset_kwargs["cache_dir"]),
            archives=archives,
            offline=hub_offline(),
            revision=dataset_kwargs.get("revision", "main"),
        )
        videos.check_obtainable()
        try:
            super().download(dataset_kwargs)
        except Exception as exc:
            if videos.offline:
                raise videos.questions_unavailable(self.DATASET_NAME) from exc
            raise
        report = videos.complete()
        if report is not None and report.extracted:
            logger.warning(f"{videos.root}: completed a partial unpack, {len(report.extracted)} of {report.members} videos extracted again")
        split = self.dataset[self.config.test_split]
        columns = [column for column in ("video", "dataset", "scene_name") if column in split.column_names]
        needed = videos.check_rows(split.select_columns(columns))
        logger.info(f"{videos.root}: all {needed} videos of {self.DATASET_PATH} present")
