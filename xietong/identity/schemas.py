from ninja import Schema


class MeOut(Schema):
    id: int
    username: str
    name: str
    employee_no: str | None
    email: str
    is_staff: bool
    must_change_password: bool
