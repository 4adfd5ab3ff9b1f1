"""Single-layer container images written without a container engine.

Used by hack/image (the operator's image) and hack/node/base-image (the
real test node's sandbox and tool image). Same inputs, same bytes: file
times are fixed and gzip headers carry no time.
"""

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer(dirs, files, mtime, symlinks=()):
    """An uncompressed layer tar: dirs (0755), files as (path, bytes, mode),
    symlinks as (path, target)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in dirs:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, mtime
            tar.addfile(info)
        for name, data, mode in files:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, mtime
            tar.addfile(info, io.BytesIO(data))
        for name, target in symlinks:
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.mode, info.mtime = tarfile.SYMTYPE, target, 0o777, mtime
            tar.addfile(info)
    return buf.getvalue()


def compact_json(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


class Image:
    """One amd64 image: its layer (gzipped), config and manifest blobs."""

    def __init__(self, layer_tar, config, created, created_by, annotations=None):
        gz = io.BytesIO()
        with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0, compresslevel=9) as f:
            f.write(layer_tar)
        self.layer_gz = gz.getvalue()
        self.config = compact_json({
            "architecture": "amd64",
            "os": "linux",
            "created": created,
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": [sha256(layer_tar)]},
            "history": [{"created": created, "created_by": created_by}],
        })
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": sha256(self.config), "size": len(self.config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": sha256(self.layer_gz), "size": len(self.layer_gz)}],
        }
        if annotations:
            manifest["annotations"] = annotations
        self.manifest = compact_json(manifest)
        self.digest = sha256(self.manifest)

    def write_oci_layout(self, layout, tag):
        """An OCI image layout: what `crane push`, `skopeo copy oci:` and `oras` take."""
        shutil.rmtree(layout, ignore_errors=True)
        blobs = os.path.join(layout, "blobs", "sha256")
        os.makedirs(blobs)
        for data in (self.config, self.layer_gz, self.manifest):
            with open(os.path.join(blobs, sha256(data).split(":", 1)[1]), "wb") as f:
                f.write(data)
        with open(os.path.join(layout, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)
        index = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": self.digest,
                           "size": len(self.manifest), "platform": {"architecture": "amd64", "os": "linux"},
                           "annotations": {"org.opencontainers.image.ref.name": tag}}],
        }
        with open(os.path.join(layout, "index.json"), "w") as f:
            json.dump(index, f, sort_keys=True, separators=(",", ":"))

    def write_docker_archive(self, path, repo_tag, mtime):
        """A docker-archive tarball: what `docker load`, `crane push` and
        `ctr images import` take."""
        with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as out:
            def put(name, data):
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(data), 0o644, mtime
                out.addfile(info, io.BytesIO(data))

            config_name = sha256(self.config).split(":", 1)[1] + ".json"
            layer_name = sha256(self.layer_gz).split(":", 1)[1] + ".tar.gz"
            put(config_name, self.config)
            put(layer_name, self.layer_gz)
            put("manifest.json", json.dumps([{"Config": config_name, "RepoTags": [repo_tag],
                                               "Layers": [layer_name]}]).encode())
