"""Data for the intrinsic experiments: the multi-scale scenes and the CelebA loader."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from latentatlas.analysis.wavelet_scales import scale_errors
from latentatlas.data.celeba import CelebA, CelebAConfig
from latentatlas.data.synthetic.scenes import Scenes, ScenesConfig, render_scenes
from latentatlas.errors import DataError
from latentatlas.registry import DATASETS, build


def test_scenes_are_colour_images_with_eight_factors():
    ds = build(DATASETS, {"name": "scenes", "n": 12, "size": 32})
    assert isinstance(ds, Scenes) and ds.x.shape == (12, 3, 32, 32)
    assert float(ds.x.min()) >= 0.0 and float(ds.x.max()) <= 1.0
    assert ds.factors.shape == (12, 8) and ds.factor_space.names[-1] == "texture_phase"
    assert torch.equal(Scenes(ScenesConfig(n=12, size=32)).x, ds.x)  # seeded


def test_scene_factors_act_at_their_own_scale():
    base = torch.tensor([[0.1, 1.0, 0.5, 0.5, 0.2, 0.6, 0.3, 0.0]], dtype=torch.float64)

    def errors(column: int, value: float) -> torch.Tensor:
        other = base.clone()
        other[0, column] = value
        return scale_errors(render_scenes(other, 64), render_scenes(base, 64))

    texture = errors(7, np.pi)  # stripe phase: fine scales only
    light = errors(1, 3.0)  # background light direction: coarse scales
    assert texture[-2:].sum() > 0.8 * texture.sum()
    assert light[:2].sum() > 0.8 * light.sum()
    # the stripes change nothing outside the disk
    a, b = render_scenes(base, 64), render_scenes(base.index_fill(1, torch.tensor([7]), 2.0), 64)
    assert torch.equal(a[..., :5, :], b[..., :5, :])


def write_celeba(root, n=5, corrupt=False):
    folder = root / "img_align_celeba"
    folder.mkdir(parents=True)
    for i in range(n):
        a = np.zeros((218, 178, 3), dtype=np.uint8)
        a[...] = (10 * i, 0, 0)
        a[35:183, 15:163] = (0, 200, 40 * i)  # the centred 148×148 square has its own colour
        Image.fromarray(a).save(folder / f"{i + 1:06d}.jpg", quality=95)
    if corrupt:
        (folder / f"{n + 1:06d}.jpg").write_bytes(b"not a jpeg")
    (root / "list_eval_partition.txt").write_text(
        "".join(f"{i + 1:06d}.jpg {0 if i < 3 else 1}\n" for i in range(n))
    )
    names = "5_o_Clock_Shadow Smiling"
    rows = "".join(f"{i + 1:06d}.jpg {1 if i % 2 else -1} -1\n" for i in range(n))
    (root / "list_attr_celeba.txt").write_text(f"{n}\n{names}\n{rows}")


def test_celeba_reads_the_standard_folder_with_centre_crop_split_and_attributes(tmp_path):
    write_celeba(tmp_path)
    ds = CelebA(CelebAConfig(path=str(tmp_path), size=16))
    assert len(ds) == 5 and ds.observation_shape == (3, 16, 16)
    x = ds.get_batch(torch.arange(5)).x
    assert x.dtype == torch.float32 and float(x.max()) <= 1.0
    # the crop is the centred square: every pixel has its colour (green ≈ 200/255)
    assert torch.allclose(x[:, 1], torch.full_like(x[:, 1], 200 / 255), atol=0.05)
    train = CelebA(CelebAConfig(path=str(tmp_path / "img_align_celeba"), size=8, split="train"))
    assert [p.name for p in train.files] == ["000001.jpg", "000002.jpg", "000003.jpg"]
    attrs = CelebA(CelebAConfig(path=str(tmp_path), size=8, attributes=True, limit=4))
    assert attrs.factor_space.names == ["5_o_Clock_Shadow", "Smiling"]
    assert attrs.get_batch(torch.arange(4)).factors[:, 0].tolist() == [0, 1, 0, 1]


def test_celeba_errors_name_the_problem(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        CelebA(CelebAConfig(path=str(tmp_path / "nowhere")))
    with pytest.raises(DataError, match="holds no img_align_celeba"):
        CelebA(CelebAConfig(path=str(tmp_path)))
    write_celeba(tmp_path / "broken", corrupt=True)
    with pytest.raises(DataError, match="000006.jpg.*cannot be read"):
        CelebA(CelebAConfig(path=str(tmp_path / "broken"), size=8))
    with pytest.raises(DataError, match="smaller than the 400 crop"):
        CelebA(CelebAConfig(path=str(tmp_path / "broken"), size=8, crop=400, limit=1))
    write_celeba(tmp_path / "plain")
    (tmp_path / "plain" / "list_eval_partition.txt").unlink()
    with pytest.raises(DataError, match="split 'test' needs list_eval_partition.txt"):
        CelebA(CelebAConfig(path=str(tmp_path / "plain"), split="test"))
