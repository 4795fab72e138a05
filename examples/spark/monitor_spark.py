r"""Profile production data on Spark for `mlci monitor --profiles` (docs/monitor.md, "On Spark").

    mlci monitor churn --current SOME_FILE --save-profile ref.json    # once: the reference profile
    spark-submit monitor_spark.py 's3a://bucket/events/date=2026-12-*/' --model churn \
        --reference-profile ref.json --out parts
    mlci monitor churn --profiles 'parts/*.json' --reference-profile ref.json

Every executor needs mlci installed in the Python Spark runs there (`PYSPARK_PYTHON`). Exit 0 when the
profiles are written, 2 on bad input (the message says what to fix).
"""

from __future__ import annotations

import argparse
import sys

from mlci.errors import MlciError
from mlci.monitor.spark import profile_partitions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write mlci partition profiles of Parquet data, one per file split."
    )
    parser.add_argument(
        "data", nargs="+", help="Parquet files, folders or globs, as spark.read.parquet takes them"
    )
    parser.add_argument(
        "--reference-profile", required=True, help="written by `mlci monitor NAME --save-profile`"
    )
    parser.add_argument("--out", required=True, help="an empty folder for the partition profiles")
    parser.add_argument("--model", default="", help="the NAME `mlci monitor NAME --profiles` decides for")
    args = parser.parse_args(argv)

    from pyspark.errors import AnalysisException
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("mlci-profile").getOrCreate()
    try:
        df = spark.read.parquet(*args.data)
        current = ", ".join(args.data)
        paths = profile_partitions(df, args.reference_profile, args.out, model=args.model, current=current)
    except (MlciError, AnalysisException) as exc:  # a missing path is Spark's AnalysisException
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(paths)} partition profiles in {args.out}; decide with:")
    name = f"{args.model} " if args.model else ""
    print(f"  mlci monitor {name}--profiles '{args.out}/*.json' --reference-profile {args.reference_profile}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
