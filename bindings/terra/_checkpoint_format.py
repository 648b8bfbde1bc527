"""PyTorch's checkpoint file, the zip archive torch.save writes by default since 1.6:

    <archive>/data.pkl    the pickled object; each storage is a persistent id
                          ('storage', torch.<T>Storage, key, location, numel)
    <archive>/data/<key>  that storage's bytes (little-endian), stored uncompressed
    <archive>/version     the format version, b"3\\n" for PyTorch 1.13

PyTorch aligns each record's data to 64 bytes (so that it can be mapped); Terra's writer does too.
"""
import io
import struct
import zipfile

from . import _public_name
from ._checkpoint_pickle import pickler_class, unpickler_class
from ._checkpoint_storages import LoadedStorages, SavedStorages, storage_bytes

ZIP_MAGIC = b"PK\x03\x04"
_VERSION = b"3\n"
_ALIGNMENT = 64
_PADDING_TAG = 0x4246  # "FB": the extra field PyTorch pads its local headers with


def is_zip(f):
    """Whether the (seekable) file f starts with a zip archive's local header."""
    start = f.tell()
    head = f.read(4)
    f.seek(start)
    return head == ZIP_MAGIC


def _write_record(archive, name, data):
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    # Local header: 30 bytes, the name, then this extra field (4 bytes of header, then the padding).
    data_start = archive.fp.tell() + 30 + len(name.encode("utf-8")) + 4
    padding = -data_start % _ALIGNMENT
    info.extra = struct.pack("<HH", _PADDING_TAG, padding) + b"Z" * padding
    archive.writestr(info, data)


def write(obj, f, pickle_module, protocol):
    storages = SavedStorages()
    data = io.BytesIO()
    pickler = pickler_class(pickle_module)(data, protocol=protocol)
    pickler.persistent_id = storages.persistent_id
    pickler.dump(obj)
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as archive:
        _write_record(archive, "archive/data.pkl", data.getvalue())
        for key in sorted(storages.by_key):
            _write_record(archive, f"archive/data/{key}", storage_bytes(storages.flat(key)))
        _write_record(archive, "archive/version", _VERSION)


def _corrupt(reason):
    return RuntimeError(f"{_public_name.qualified('load')}: not a valid PyTorch checkpoint: {reason}")


def _as_str(value):
    return value.decode("ascii") if isinstance(value, bytes) else value


def read(f, map_location, pickle_module, weights_only, pickle_load_args):
    try:
        archive = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, EOFError) as e:
        raise _corrupt(f"the zip archive is damaged ({e})") from None
    with archive:
        names = archive.namelist()
        prefix = names[0].split("/", 1)[0] if names else ""  # the archive's folder, as PyTorch finds it
        if f"{prefix}/constants.pkl" in names:
            raise RuntimeError(f"{_public_name.qualified('load')}: this is a TorchScript archive (torch.jit.save); "
                               "Terra has no TorchScript: save and load the model's state_dict() instead")
        if f"{prefix}/data.pkl" not in names:
            raise _corrupt("a zip archive without data.pkl")
        storages = LoadedStorages(map_location)

        def read_record(name):
            try:
                return archive.read(f"{prefix}/{name}")
            except (KeyError, zipfile.BadZipFile, EOFError) as e:
                raise _corrupt(f"record {name} is missing or damaged ({e})") from None

        def read_storage(stype, key, numel):
            raw = read_record(f"data/{key}")
            if len(raw) != numel * stype.stored.itemsize:
                raise _corrupt(f"storage record data/{key} holds {len(raw)} bytes, not {numel} elements of "
                               f"{stype.torch_dtype}")
            return raw

        def persistent_load(saved_id):
            typename, stype, key, location, numel = saved_id
            if _as_str(typename) != "storage":
                raise _corrupt(f"unknown persistent id type {typename!r}")
            return storages.get(stype, key, _as_str(location), lambda: read_storage(stype, key, numel))

        unpickler = unpickler_class(pickle_module, persistent_load, weights_only)(
            io.BytesIO(read_record("data.pkl")), **pickle_load_args)
        result = unpickler.load()
    storages.warn_widened()
    return result
