"""The base of every SDK model."""

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    # Fields the server adds later are kept (model_extra), not refused: an older SDK keeps working.
    model_config = ConfigDict(extra="allow", populate_by_name=True)
