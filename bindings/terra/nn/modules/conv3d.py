"""Conv3d and ConvTranspose3d: the layers of conv.py over nn.functional's conv3d and
conv_transpose3d (composed from the 2-D convolutions), with PyTorch's parameters, padding modes
and output_size handling."""

from .. import functional as F
from .conv import _Conv, _ConvTransposeNd
from .utils import _triple

__all__ = ["Conv3d", "ConvTranspose3d"]


class Conv3d(_Conv):
    _ntuple = staticmethod(_triple)
    _conv = staticmethod(F.conv3d)


class ConvTranspose3d(_ConvTransposeNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, _triple(kernel_size), _triple(stride),
                         _triple(padding), _triple(dilation), True, _triple(output_padding),
                         groups, bias, padding_mode, device, dtype)

    def forward(self, input, output_size=None):
        output_padding = self._output_padding(input, output_size, self.stride, self.padding,
                                              self.kernel_size, 3, self.dilation)
        return F.conv_transpose3d(input, self.weight, self.bias, self.stride, self.padding,
                                  output_padding, self.groups, self.dilation)
