"""Files a prediction run writes into its run folder: drawings/videos (`save`), YOLO-seg label files
(`save_txt`, `save_conf`) and per-detection crops (`save_crop`), the reference's layout.

- drawings: ``NAME`` (images) or ``STEM.mp4`` (videos) at the top of the run folder;
- labels: ``labels/STEM.txt`` (video frames ``labels/STEM_FRAME.txt``), one line per detection:
  ``class x1 y1 x2 y2 ...`` with the mask's largest outline normalized to 0..1 (the box's corners
  when the mask is empty), the score appended with `save_conf`;
- crops: ``crops/CLASS_NAME/STEM_K.jpg``, the box region of detection K of the original image.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from cocoseg.convert.yolo_labels import polygon_line
from cocoseg.engine.predict_sources import video_fps
from cocoseg.predictions.image_predictions import Result
from cocoseg.viz import draw_instances


@dataclass(frozen=True)
class FileOptions:
    """What goes into the run folder, and how drawings look."""

    save: bool = False
    save_txt: bool = False
    save_conf: bool = False
    save_crop: bool = False
    line_width: int | None = None
    show_labels: bool = True
    show_conf: bool = True

    @property
    def any(self) -> bool:
        return self.save or self.save_txt or self.save_crop

    @property
    def needs_images(self) -> bool:
        return self.save or self.save_crop


class RunFiles:
    """Writes each result's drawing, label file and crops as it comes; one video writer per video."""

    def __init__(self, out_dir: Path, options: FileOptions) -> None:
        self.out_dir, self.options, self.videos = out_dir, options, {}

    def add(self, result: Result) -> None:
        """Write what the options ask for `result` (its image must be kept for drawings and crops)."""
        stem = Path(result.path).stem if not result.path.startswith("image") else result.path
        if result.frame is not None:
            stem = f"{stem}_{result.frame}"
        if self.options.save:
            self._draw(result)
        if self.options.save_txt:
            path = self.out_dir / "labels" / f"{stem}.txt"
            path.parent.mkdir(exist_ok=True)
            path.write_text("".join(line + "\n" for line in label_lines(result, self.options.save_conf)))
        if self.options.save_crop and result.image is not None:
            for k, (box, label) in enumerate(zip(result.boxes_xyxy, result.classes.tolist())):
                crop = crop_box(result.image, box)
                if crop.size:
                    folder = self.out_dir / "crops" / str(result.names.get(int(label), label))
                    folder.mkdir(parents=True, exist_ok=True)
                    cv2.imwrite(str(folder / f"{stem}_{k}.jpg"), crop)

    def _draw(self, result: Result) -> None:
        o = self.options
        drawn = draw_instances(result.image, result.boxes_xyxy, result.masks, result.classes,
                               result.scores if o.show_conf else None, result.names,
                               line_width=o.line_width, labels=o.show_labels)
        name = Path(result.path).name if not result.path.startswith("image") else f"{result.path}.jpg"
        if result.frame is None:
            cv2.imwrite(str(self.out_dir / name), drawn)
            return
        if result.path not in self.videos:
            h, w = drawn.shape[:2]
            target = str(self.out_dir / (Path(result.path).stem + ".mp4"))
            self.videos[result.path] = cv2.VideoWriter(target, cv2.VideoWriter_fourcc(*"mp4v"), video_fps(result.path), (w, h))
        self.videos[result.path].write(drawn)

    def close(self) -> None:
        """Finish the video files."""
        for writer in self.videos.values():
            writer.release()


def label_lines(result: Result, save_conf: bool = False) -> list[str]:
    """YOLO-seg label lines of one result (see the module docstring)."""
    h, w = result.image_shape
    polygons = result.masks.polygons() if result.masks is not None else [[] for _ in range(len(result))]
    lines = []
    for box, label, score, parts in zip(result.boxes_xyxy.tolist(), result.classes.tolist(), result.scores.tolist(), polygons):
        if parts:
            ring = np.asarray(max(parts, key=len), dtype=np.float64).reshape(-1, 2)
        else:
            x1, y1, x2, y2 = box
            ring = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], dtype=np.float64)
        line = polygon_line(int(label), ring, w, h)
        lines.append(f"{line} {score:.5f}" if save_conf else line)
    return lines


def crop_box(image: np.ndarray, box_xyxy: np.ndarray) -> np.ndarray:
    """The pixels of `image` a box covers (floor of the start, ceiling of the end), clipped to the image."""
    h, w = image.shape[:2]
    x1, y1 = max(int(np.floor(box_xyxy[0])), 0), max(int(np.floor(box_xyxy[1])), 0)
    x2, y2 = min(int(np.ceil(box_xyxy[2])), w), min(int(np.ceil(box_xyxy[3])), h)
    return image[y1:y2, x1:x2].copy()
