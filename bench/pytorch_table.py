"""The PyTorch side of issue #12's table: every row of experiments/sweep-burda-table.yaml, each seed, through
bench/pytorch_objectives.py at the table's budget, then the mean ± std of test/iwae_nll per row.

  .venv/bin/python bench/pytorch_table.py [--out runs/pytorch-table.jsonl] [--rows vae,iwae_k5,...] [--seeds 1,2,3]
                                          [--threads 1] [--dry-run]

Each finished run appends one JSON line (pytorch_objectives.py's, with "row") to --out, and a (row, seed) already in
it is skipped, so an interrupted table goes on where it stopped. The table is printed in Markdown at the end, from
everything in --out. The budget is the sweep's: 30 epochs of batch 100 (Adam 1e-3) on 59,600 dynamically binarized
training images, then the k = 500 importance-weighted bound on the 10,000 test images.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

BUDGET = ['--epochs', '30', '--batch-size', '100', '--eval-k', '500']

# The rows in the table's order, each with the flags of the same objective as its spec in experiments/.
ROWS = {
    'vae': ('VAE (iwae-mnist)', ['--objective', 'elbo']),
    'iwae_k5': ('IWAE k = 5 (iwae-k5-mnist)', ['--objective', 'iwae', '--k', '5']),
    'vae_2layer': ('VAE, 2 stochastic layers (iwae-2layer-mnist)', ['--objective', 'elbo', '--stochastic-layers', '2']),
    'iwae_k5_2layer': ('IWAE k = 5, 2 stochastic layers (iwae-k5-2layer-mnist)',
                       ['--objective', 'iwae', '--k', '5', '--stochastic-layers', '2']),
    'vamp': ('VampPrior K = 500 (vamp-mnist)', ['--objective', 'elbo', '--prior', 'vamp', '--prior-components', '500']),
    'beta_tc': ('β-TCVAE β = 6 (beta-tc-mnist)', ['--objective', 'beta_tc', '--mi', '1', '--tc', '6', '--dim-kl', '1']),
    # C reaches 25 nats after 10 of the 30 epochs: 5,960 steps of batch 100.
    'capacity': ('capacity (capacity-mnist)',
                 ['--objective', 'capacity', '--gamma', '1000', '--max-nats', '25', '--anneal-steps', '5960']),
}


def done_runs(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def table(runs):
    lines = ['| row | n | test/iwae_nll, mean ± std | seeds |', '|---|---|---|---|']
    for key, (label, _) in ROWS.items():
        values = [r['test_iwae_nll'] for r in sorted(runs, key=lambda r: r['seed']) if r['row'] == key]
        if not values:
            continue
        spread = f' ± {statistics.stdev(values):.2f}' if len(values) > 1 else ' (one seed)'
        lines.append(f'| {label} | {len(values)} | {statistics.mean(values):.2f}{spread} | '
                     f'{" / ".join(f"{v:.2f}" for v in values)} |')
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', default='runs/pytorch-table.jsonl')
    parser.add_argument('--rows', default=','.join(ROWS))
    parser.add_argument('--seeds', default='1,2,3')
    parser.add_argument('--threads', default='1')
    parser.add_argument('--dry-run', action='store_true', help='print the commands without running them')
    args = parser.parse_args()
    rows = args.rows.split(',')
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        parser.error(f'unknown rows {unknown}; the rows are {", ".join(ROWS)}')
    os.makedirs(os.path.dirname(args.out) or '.', exist_ok=True)
    for row in rows:
        for seed in args.seeds.split(','):
            if any(r['row'] == row and r['seed'] == int(seed) for r in done_runs(args.out)):
                continue
            command = [sys.executable, os.path.join(HERE, 'pytorch_objectives.py'), *ROWS[row][1], *BUDGET,
                       '--seed', seed, '--threads', args.threads]
            print(' '.join(command), file=sys.stderr, flush=True)
            if args.dry_run:
                continue
            result = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
            run = json.loads(result.stdout.strip().splitlines()[-1])
            with open(args.out, 'a') as f:
                f.write(json.dumps({'row': row, **run}) + '\n')
    print(table(done_runs(args.out)))


if __name__ == '__main__':
    main()
