"""Fine-tuning: PEFT (LoRA, IA3, prompt tuning) against full fine-tuning and a linear probe on the
pretrained MiniLM, and transfer learning of image models against training from scratch."""

from ._config import DEFAULT_LR, IMAGE_METHODS, METHOD_HELP, METHODS, PEFT_METHODS, TEXT_METHODS, FinetuneConfig
from ._run import FinetuneResult, ensure_text_base, finetune, peft_config

__all__ = ["DEFAULT_LR", "IMAGE_METHODS", "METHODS", "METHOD_HELP", "PEFT_METHODS", "TEXT_METHODS", "FinetuneConfig",
           "FinetuneResult", "ensure_text_base", "finetune", "peft_config"]
