"""Index CSVs, read and written in one place: unusable rows reported, groups named one way, a
written index read back to the same photos, and a split that never divides a photo group."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipr_vision.domain import Label
from ipr_vision.errors import GalleryError
from ipr_vision.intake.labelled import (
    LabelledPhoto,
    group_key,
    read_index,
    split_index,
    stored_group,
    write_index,
)

INDEX = """\ufeffpath,label,product,dup_group,source_url
a.jpg,genuine,boot,g1,http://a
b.jpg, FAKE ,boot,g1,
c.jpg,genuine, bag ,,http://c
d.jpg,maybe,boot,g2,
,genuine,boot,g3,
e.jpg,fake,,g4,
"""


def test_read_index_reports_rows_it_cannot_use(tmp_path: Path) -> None:
    (tmp_path / "index.csv").write_text(INDEX, encoding="utf-8")
    items, failed = read_index(tmp_path / "index.csv")
    assert [(i.source, i.label, i.product, i.group) for i in items] == [
        (tmp_path / "a.jpg", Label.GENUINE, "boot", "group:g1"),
        (tmp_path / "b.jpg", Label.FAKE, "boot", "group:g1"),
        (tmp_path / "c.jpg", Label.GENUINE, "bag", None)]
    assert items[0].extra == (("source_url", "http://a"),)
    assert failed == [
        (f"{tmp_path / 'index.csv'}:5", "label must be genuine or fake, not 'maybe'"),
        (f"{tmp_path / 'index.csv'}:6", "empty path or product"),
        (f"{tmp_path / 'index.csv'}:7", "empty path or product")]


@pytest.mark.parametrize(("content", "message"), [
    ("file,label\nx.jpg,genuine\n", r"missing column\(s\) path, product"),
    (b"path,label,product\n\xff\xfe,genuine,boot\n", "not a readable CSV"),
])
def test_an_unusable_index_is_one_clear_error(tmp_path: Path, content: str | bytes,
                                              message: str) -> None:
    path = tmp_path / "index.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(GalleryError, match=message):
        read_index(path)
    with pytest.raises(GalleryError, match="file not found"):
        read_index(tmp_path / "absent.csv")


def test_one_way_to_name_a_photo_group() -> None:
    grouped = LabelledPhoto(Path("x/a.jpg"), "boot", Label.GENUINE, "group:g1")
    alone = LabelledPhoto(Path("x/b.jpg"), "boot", Label.GENUINE)
    assert group_key(grouped) == stored_group(grouped, "ab" * 32) == "group:g1"
    assert group_key(alone) == "file:x/b.jpg"
    assert stored_group(alone, "ab" * 32) == "sha256:" + "ab" * 32


def test_a_written_index_reads_back_the_same(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "index.csv").write_text(INDEX.replace("a.jpg", "photos/a.jpg"),
                                        encoding="utf-8")
    items, _ = read_index(tmp_path / "index.csv")
    written = write_index(tmp_path / "elsewhere" / "copy.csv", items)
    again, failed = read_index(written)
    assert failed == [] and again == [
        LabelledPhoto(Path(written.parent, "..", "photos", "a.jpg"), "boot", Label.GENUINE,
                      "group:g1", (("source_url", "http://a"),)),
        LabelledPhoto(Path(written.parent, "..", "b.jpg"), "boot", Label.FAKE, "group:g1",
                      (("source_url", ""),)),
        LabelledPhoto(Path(written.parent, "..", "c.jpg"), "bag", Label.GENUINE, None,
                      (("source_url", "http://c"),))]
    assert [i.source.resolve() for i in again] == [i.source.resolve() for i in items]


def test_split_keeps_each_group_on_one_side(tmp_path: Path) -> None:
    rows = ["path,label,product,dup_group"]
    for n in range(60):
        rows.append(f"p{n}.jpg,{'fake' if n % 2 else 'genuine'},boot,g{n // 3}")
    rows.append("odd.jpg,unknown,boot,g99")
    (tmp_path / "index.csv").write_text("\n".join(rows) + "\n")
    gallery_csv, queries_csv, failed = split_index(tmp_path / "index.csv", tmp_path / "out",
                                                   query_share=0.25, seed=3)
    gallery, _ = read_index(gallery_csv)
    queries, _ = read_index(queries_csv)
    assert len(gallery) + len(queries) == 60 and len(failed) == 1
    assert not {i.group for i in gallery} & {i.group for i in queries}
    assert 0.15 < len(queries) / 60 < 0.35
    assert {i.source.resolve() for i in gallery + queries} == {
        (tmp_path / f"p{n}.jpg").resolve() for n in range(60)}
