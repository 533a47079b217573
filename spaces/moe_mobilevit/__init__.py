"""MoENAS: MobileViTv2 with Switch-FFN experts per attention layer (arXiv 2502.07422)."""

from nasplat.spaces.moe_mobilevit.model import MoEMobileViT, param_count
from nasplat.spaces.moe_mobilevit.space import MoEMobileViTSpace
from nasplat.spaces.moe_mobilevit.switch_ffn import SwitchFFN

__all__ = ["MoEMobileViT", "MoEMobileViTSpace", "SwitchFFN", "param_count"]
