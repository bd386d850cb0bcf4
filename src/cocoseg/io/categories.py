"""The map between COCO `category_id` (any ints) and contiguous training labels 0..K-1."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CategoryMap:
    """Category ids in label order (sorted by id, the Ultralytics/COCO convention) with their names."""

    category_ids: tuple[int, ...]
    names: tuple[str, ...]
    _label_of: Mapping[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.category_ids) != len(self.names):
            raise ValueError("category_ids and names differ in length")
        object.__setattr__(self, "_label_of", {cid: i for i, cid in enumerate(self.category_ids)})

    @classmethod
    def from_categories(cls, categories: Iterable[Mapping]) -> CategoryMap:
        """From COCO category records; labels follow ascending category id."""
        cats = sorted(categories, key=lambda c: c["id"])
        return cls(tuple(int(c["id"]) for c in cats), tuple(str(c["name"]) for c in cats))

    @classmethod
    def from_names(cls, names: Mapping[int, str] | Iterable[str], first_id: int = 1) -> CategoryMap:
        """From YOLO-style names (list or {index: name}); ids are index + first_id."""
        items = sorted(names.items()) if isinstance(names, Mapping) else list(enumerate(names))
        return cls(tuple(int(i) + first_id for i, _ in items), tuple(str(n) for _, n in items))

    def __len__(self) -> int:
        return len(self.category_ids)

    def label(self, category_id: int) -> int:
        """Contiguous label of a category id (KeyError if unknown)."""
        return self._label_of[category_id]

    def category_id(self, label: int) -> int:
        """Category id of a contiguous label."""
        return self.category_ids[label]

    @property
    def label_names(self) -> dict[int, str]:
        """{label: name}, the form of a dataset YAML's `names`."""
        return dict(enumerate(self.names))
