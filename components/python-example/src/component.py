"""berth's Python example component, written as any Keboola component on keboola.component is.

- `run`: reads the input table (destination `input.csv`, columns `id` and `value`), multiplies
  `value` by the parameter `multiplier`, writes `out/tables/output.csv` with a manifest (primary
  key `id`), and keeps in state how many runs and rows it has seen.
- a parameter `multiplier` that is missing or not a number is a user error (exit 1);
- a row whose `value` is not a number is an application error (exit 2, with a traceback);
- the synchronous action `info` answers a JSON document.
"""

import csv
import logging
import os

from keboola.component.base import ComponentBase, sync_action
from keboola.component.exceptions import UserException


class Component(ComponentBase):
    def run(self):
        multiplier = self.configuration.parameters.get("multiplier")
        if not isinstance(multiplier, (int, float)) or isinstance(multiplier, bool):
            raise UserException('Parameter "multiplier" must be a number.')
        tables = {os.path.basename(t.full_path): t for t in self.get_input_tables_definitions()}
        if "input.csv" not in tables:
            raise UserException("Input table input.csv is missing.")
        out = self.create_out_table_definition("output.csv", primary_key=["id"])
        rows = 0
        with open(tables["input.csv"].full_path, newline="") as source, open(
            out.full_path, "w", newline=""
        ) as target:
            writer = csv.DictWriter(target, fieldnames=["id", "value", "result"])
            writer.writeheader()
            for row in csv.DictReader(source):
                result = float(row["value"]) * multiplier
                writer.writerow({"id": row["id"], "value": row["value"], "result": f"{result:g}"})
                rows += 1
        self.write_manifest(out)
        state = self.get_state_file() or {}
        self.write_state_file({"runs": state.get("runs", 0) + 1, "rows": rows})
        logging.info("Multiplied %d rows by %s.", rows, multiplier)

    @sync_action("info")
    def info(self):
        return {"component": "python-example", "multiplier": self.configuration.parameters.get("multiplier")}


if __name__ == "__main__":
    try:
        comp = Component()
        comp.execute_action()
    except UserException as exc:
        logging.error(exc)
        exit(1)
    except Exception as exc:
        logging.exception(exc)
        exit(2)
