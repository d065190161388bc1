"""The access location: thumbnails, item entries, catalogue, withdrawal."""

import datetime as dt
import hashlib
import json

import pytest
from PIL import Image, features

from publication.publish import make_thumbnail, publish_item, withdraw_item, write_catalogue

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)


# -- thumbnails -----------------------------------------------------------------------------------


def _thumb(tmp_path, image: Image.Image, name: str, px=64, **save):
    src = tmp_path / name
    image.save(src, **save)
    dest = make_thumbnail(src, tmp_path / "thumbs" / f"{name}.jpg", px)
    out = Image.open(dest)
    assert out.format == "JPEG" and out.mode in ("L", "RGB")
    assert max(out.size) == px
    return out


def test_16_bit_grayscale_tiff_is_scaled_not_clipped_to_white(tmp_path):
    image = Image.new("I;16", (400, 200), 10000)
    image.paste(Image.new("I;16", (200, 200), 40000), (200, 0))
    out = _thumb(tmp_path, image, "gray16.tif").convert("L")
    left, right = out.getpixel((10, 16)), out.getpixel((54, 16))
    assert right > 240 and 40 < left < 90  # 10000/40000*255 ≈ 64; clipping would give 255


def test_thumbnail_keeps_aspect_ratio_of_a_portrait_page(tmp_path):
    out = _thumb(tmp_path, Image.new("RGB", (300, 600), "white"), "page.png", px=100)
    assert out.size == (50, 100)


@pytest.mark.parametrize(
    "mode, name, save",
    [
        ("L", "gray.tif", {"compression": "tiff_lzw"}),
        ("1", "bilevel.tif", {"compression": "group4"}),
        ("RGBA", "alpha.png", {}),
        ("P", "palette.png", {}),
        ("RGB", "colour.jpg", {"quality": 90}),
        ("CMYK", "cmyk.jpg", {}),
    ],
)
def test_common_scan_formats_become_jpeg_thumbnails(tmp_path, mode, name, save):
    _thumb(tmp_path, Image.new(mode, (320, 240)), name, **save)


@pytest.mark.skipif(not features.check("jpg_2000"), reason="Pillow built without OpenJPEG")
def test_jpeg2000_master_becomes_a_jpeg_thumbnail(tmp_path):
    _thumb(tmp_path, Image.new("RGB", (512, 384), (200, 30, 30)), "page.jp2")


def test_thumbnail_size_must_be_positive(tmp_path):
    Image.new("L", (10, 10)).save(tmp_path / "a.png")
    with pytest.raises(ValueError):
        make_thumbnail(tmp_path / "a.png", tmp_path / "a.jpg", 0)


# -- publishing -----------------------------------------------------------------------------------


@pytest.fixture
def item_files(tmp_path):
    def make(item_id, names=("item.pdf", "thumbs/p0001.jpg")):
        folder = tmp_path / "derivatives" / item_id
        files = []
        for name in names:
            path = folder / name.replace("/", "_")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(f"{item_id}:{name}".encode())
            files.append((path, name))
        return files
    return make


def read_json(storage, key):
    return json.loads(storage.get_bytes(key).decode("utf-8"))


def test_publish_writes_files_then_item_json_listing_them(storage, recording, item_files):
    store = recording(storage)
    files = item_files("b002-0001")
    uri = publish_item(store, "b002-0001", files, {"title": "ديوان المتنبي", "language": ["ar"]})
    assert uri == storage.uri("items/b002-0001")
    assert store.writes == [
        "items/b002-0001/item.pdf", "items/b002-0001/thumbs/p0001.jpg", "items/b002-0001/item.json"
    ]
    entry = read_json(storage, "items/b002-0001/item.json")
    assert entry["title"] == "ديوان المتنبي" and entry["item_id"] == "b002-0001"
    for (path, key), listed in zip(files, entry["files"]):
        data = path.read_bytes()
        assert listed == {"key": key, "size": len(data), "sha512": hashlib.sha512(data).hexdigest()}
        assert storage.get_bytes(f"items/b002-0001/{key}") == data


def test_catalogue_lists_items_sorted_and_drops_withdrawn_ones(storage, recording, item_files):
    publish_item(storage, "b002-0001", item_files("b002-0001"), {"title": "红楼梦", "language": ["zh-Hans"]})
    publish_item(storage, "b001-0007", item_files("b001-0007"), {"title": "ألف ليلة وليلة", "language": ["ar"]})
    uri = write_catalogue(storage, NOW)
    assert uri == storage.uri("catalogue.json")
    catalogue = read_json(storage, "catalogue.json")
    assert catalogue["generated"] == NOW.isoformat()
    assert [i["item_id"] for i in catalogue["items"]] == ["b001-0007", "b002-0001"]
    assert [i["title"] for i in catalogue["items"]] == ["ألف ليلة وليلة", "红楼梦"]
    assert catalogue["items"][0]["item_json"] == "items/b001-0007/item.json"
    assert "ألف ليلة وليلة".encode("utf-8") in storage.get_bytes("catalogue.json")

    store = recording(storage)
    deleted = withdraw_item(store, "b002-0001")
    assert deleted == 3 and store.deletes[0] == "items/b002-0001/item.json"
    assert list(storage.list("items/b002-0001/")) == []
    write_catalogue(storage, NOW)
    assert [i["item_id"] for i in read_json(storage, "catalogue.json")["items"]] == ["b001-0007"]
    assert list(storage.list("items/b001-0007/"))  # the other item is untouched


def test_republishing_removes_files_no_longer_listed(storage, item_files):
    publish_item(storage, "b1", item_files("b1", ("a.pdf", "thumbs/p1.jpg", "thumbs/p2.jpg")), {})
    publish_item(storage, "b1", item_files("b1", ("a.pdf", "thumbs/p1.jpg")), {})
    assert list(storage.list("items/b1/")) == ["items/b1/a.pdf", "items/b1/item.json", "items/b1/thumbs/p1.jpg"]


def test_withdrawing_an_unpublished_item_deletes_nothing(storage, item_files):
    publish_item(storage, "b10", item_files("b10"), {})
    assert withdraw_item(storage, "b1") == 0
    assert len(list(storage.list("items/b10/"))) == 3


def test_empty_access_location_gives_an_empty_catalogue(storage):
    write_catalogue(storage, NOW)
    assert read_json(storage, "catalogue.json") == {"generated": NOW.isoformat(), "items": []}


def test_unreadable_item_json_is_left_out_of_the_catalogue(storage, item_files):
    publish_item(storage, "good", item_files("good"), {"title": "t"})
    storage.put_bytes("items/bad/item.json", b"{not json")
    write_catalogue(storage, NOW)
    assert [i["item_id"] for i in read_json(storage, "catalogue.json")["items"]] == ["good"]


@pytest.mark.parametrize(
    "files, entry",
    [
        ([("x", "item.json")], {}),
        ([("x", "a.pdf"), ("y", "a.pdf")], {}),
        ([("x", "كتاب.pdf")], {}),
        ([], {"files": []}),
        ([], {"item_id": "other"}),
    ],
)
def test_publish_refuses_bad_input_before_writing(storage, recording, tmp_path, files, entry):
    for name, _ in files:
        (tmp_path / name).write_bytes(b"x")
    store = recording(storage)
    with pytest.raises(ValueError):
        publish_item(store, "b1", [(tmp_path / n, k) for n, k in files], entry)
    assert store.writes == []
