"""The disentanglement benchmark's data sets, read from the files their authors publish, from a
local path (nothing is downloaded): ``shapes3d`` (3dshapes.h5), ``mpi3d`` (the MPI3D .npz
files), ``smallnorb`` (the smallNORB binary matrices) and ``cars3d`` (the Cars3D .mat files).
Each checks a file of a published name against its published hash (:mod:`.checksums`), and
reads per batch only the images the batch needs."""

from . import cars3d, mpi3d, shapes3d, smallnorb  # noqa: F401  (registers the data sets)
