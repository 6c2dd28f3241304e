"""The disentanglement benchmark's data sets, read from the files their authors publish, from a
local path (nothing is downloaded): ``shapes3d`` (3dshapes.h5), ``mpi3d`` (the MPI3D .npz
files) and ``smallnorb`` (the smallNORB binary matrices). Each checks its file's hash against
the published one (:mod:`.checksums`), and reads per batch only the images the batch needs."""

from . import mpi3d, shapes3d, smallnorb  # noqa: F401  (registers the data sets)
