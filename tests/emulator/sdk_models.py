"""Check JSON against the official Python SDK's models, field by field.

A payload conforms when every key is in the model's ``attribute_map``, every value has the
``swagger_types`` type (recursively), nothing is null (the emulator omits unset fields),
timestamps are Genesys' ISO-8601 form, and the SDK's own deserializer accepts every enum value
(it turns unknown ones into ``"outdated_sdk_version"``).
"""

import json
import re
from typing import Any

from PureCloudPlatformClientV2 import ApiClient, models

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
PRIMITIVES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "bool": (bool,),
    "int": (int,),
    "float": (int, float),
    "object": (object,),
}


def _check(value: Any, swagger_type: str, where: str) -> None:
    assert value is not None, f"{where} is null"
    if swagger_type.startswith("list["):
        assert isinstance(value, list), f"{where} is not a list"
        for index, item in enumerate(value):
            _check(item, swagger_type[5:-1], f"{where}[{index}]")
    elif swagger_type.startswith("dict("):
        assert isinstance(value, dict), f"{where} is not an object"
        inner = swagger_type.removeprefix("dict(str, ")[:-1]
        for key, item in value.items():
            _check(item, inner, f"{where}.{key}")
    elif swagger_type == "datetime":
        assert isinstance(value, str), f"{where} is not a timestamp string"
        assert TIMESTAMP.fullmatch(value), f"{where}={value!r} is not a Genesys timestamp"
    elif swagger_type in PRIMITIVES:
        assert isinstance(value, PRIMITIVES[swagger_type]), f"{where} is not {swagger_type}"
        assert swagger_type == "bool" or not isinstance(value, bool), f"{where} is a bool"
    else:
        _check_model(value, swagger_type, where)


def _check_model(value: Any, model_name: str, where: str) -> None:
    assert isinstance(value, dict), f"{where} is not a {model_name} object"
    model = getattr(models, model_name)()
    names = {json_name: attribute for attribute, json_name in model.attribute_map.items()}
    for key, item in value.items():
        assert key in names, f"{where}: {model_name} has no field {key!r}"
        _check(item, model.swagger_types[names[key]], f"{where}.{key}")


def assert_conforms(payload: Any, model_name: str) -> None:
    """Fail unless ``payload`` is a faithful ``model_name`` JSON."""
    _check_model(payload, model_name, model_name)
    deserialized = ApiClient()._ApiClient__deserialize(payload, model_name)
    dumped = json.dumps(deserialized.to_dict(), default=str)
    assert "outdated_sdk_version" not in dumped, f"an enum value of {model_name} is unknown"
