"""Normalising names and identifiers so records from different sources can be compared.

Public entry points: names (normalize_org_name, parse_name, short_name_variants, pinyin keys)
and codes (validate_credit_code, normalize_stock_code).
"""

from ingest.normalize.codes import (
    CodeError,
    credit_code_check_char,
    normalize_stock_code,
    validate_credit_code,
)
from ingest.normalize.names import (
    NameParts,
    acronyms,
    is_chinese,
    name_tokens,
    normalize_org_name,
    parse_name,
    short_name_variants,
    strip_legal_forms,
    strip_region_prefix,
)
from ingest.normalize.pinyin import pinyin_initials, pinyin_key, pinyin_variants

__all__ = ["CodeError", "NameParts", "acronyms", "credit_code_check_char", "is_chinese", "name_tokens",
           "normalize_org_name", "normalize_stock_code", "parse_name", "pinyin_initials", "pinyin_key",
           "pinyin_variants", "short_name_variants", "strip_legal_forms", "strip_region_prefix",
           "validate_credit_code"]
