"""PyTorch 1.13's module paths for the classes Terra defines in other files.

Scripts import layers from the file PyTorch defines them in (`from torch.nn.modules.pooling
import MaxPool3d`, `from torch.nn.modules.conv import LazyConv2d`). Terra keeps some of those
classes in files of their own (pooling3d.py, lazy.py, extra.py, ...), and several of those
import the file they would be re-exported from, so re-export lines there would form import
cycles. Instead, once every file is loaded, `install()` binds each name in PyTorch's file
(and adds it to that file's __all__).
"""

import sys

# PyTorch's file -> {Terra's file: names}
_ALIASES = {
    "activation": {"extra": ["Hardshrink", "RReLU", "Softmax2d", "Softshrink"]},
    "batchnorm": {"sync_batchnorm": ["SyncBatchNorm"],
                  "lazy": ["_LazyNormBase", "LazyBatchNorm1d", "LazyBatchNorm2d",
                           "LazyBatchNorm3d"]},
    "container": {"deprecated": ["Container"]},
    "conv": {"conv3d": ["Conv3d", "ConvTranspose3d"],
             "lazy": ["_LazyConvXdMixin", "LazyConv1d", "LazyConv2d", "LazyConv3d",
                      "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d"]},
    "dropout": {"extra": ["AlphaDropout", "FeatureAlphaDropout"]},
    "instancenorm": {"lazy": ["LazyInstanceNorm1d", "LazyInstanceNorm2d",
                              "LazyInstanceNorm3d"]},
    "linear": {"more": ["Bilinear"], "lazy": ["LazyLinear"]},
    "loss": {"deprecated": ["NLLLoss2d"],
             "loss_extra": ["PoissonNLLLoss", "GaussianNLLLoss", "HingeEmbeddingLoss",
                            "MultiLabelMarginLoss", "SoftMarginLoss", "MultiLabelSoftMarginLoss",
                            "CosineEmbeddingLoss", "MarginRankingLoss", "MultiMarginLoss",
                            "TripletMarginLoss", "TripletMarginWithDistanceLoss"],
             "loss_ctc": ["CTCLoss"]},
    "normalization": {"extra": ["LocalResponseNorm"], "cross_map_lrn": ["CrossMapLRN2d"]},
    "pooling": {"pooling3d": ["MaxPool3d", "AvgPool3d", "AdaptiveAvgPool3d",
                              "AdaptiveMaxPool3d", "MaxUnpool3d"],
                "more": ["_MaxUnpoolNd", "MaxUnpool1d", "MaxUnpool2d"],
                "extra": ["_LPPoolNd", "LPPool1d", "LPPool2d", "_AdaptiveMaxPoolNd",
                          "AdaptiveMaxPool1d", "AdaptiveMaxPool2d"],
                "fractional_pool": ["FractionalMaxPool2d", "FractionalMaxPool3d"]},
    "sparse": {"more": ["EmbeddingBag"]},
}


def install(package):
    """Binds the aliases in the (already imported) files of `package` (terra.nn.modules)."""
    for torch_file, sources in _ALIASES.items():
        target = sys.modules[f"{package}.{torch_file}"]
        public = getattr(target, "__all__", None)
        for terra_file, names in sources.items():
            source = sys.modules[f"{package}.{terra_file}"]
            for name in names:
                setattr(target, name, getattr(source, name))
                if public is not None and not name.startswith("_") and name not in public:
                    public.append(name)
