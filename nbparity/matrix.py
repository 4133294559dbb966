"""Parity matrices (`nbparity cases run|check`): the names other code and notebooks import.

Parsing and validation: nbparity.read.matrix_parse (schema in its docstring) and read.matrix_yaml;
running: nbparity.flows.matrix (run_matrix(MatrixRequest) -> MatrixResult) and flows.matrix_run (one run);
judging: flows.matrix_judge; writing: nbparity.write.matrix_bundle and write.matrix_junit."""

from __future__ import annotations

from nbparity.flows.matrix import run_matrix
from nbparity.flows.matrix_judge import matrix_exit_code, matrix_judgement
from nbparity.flows.matrix_result import MatrixResult, c_line_texts
from nbparity.read.matrix_parse import Matrix, PrepareStep, RunSpec, apply_port, load_matrix, parse_matrix
from nbparity.write.matrix_bundle import row, summary_markdown

__all__ = ["Matrix", "MatrixResult", "PrepareStep", "RunSpec", "apply_port", "c_line_texts", "load_matrix",
           "matrix_exit_code", "matrix_judgement", "parse_matrix", "row", "run_matrix", "summary_markdown"]
