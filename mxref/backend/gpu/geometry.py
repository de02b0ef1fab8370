"""Launch geometry: how many blocks of how many threads each kind of kernel gets (pure Python).

>>> grid_1d(1000, sm_count=132)
(4, 256)
>>> grid_1d(10 ** 9, sm_count=132)       # grid-stride loops: enough blocks to fill the GPU
(4224, 256)
>>> rows_geometry(8192, 8192)             # one block of 512 threads per long row
('block', 512)
>>> rows_geometry(100000, 10)             # short rows: one warp per row
('warp', 32)
"""
__all__ = ['grid_1d', 'rows_geometry', 'ceil_div', 'BLOCK_SIZE']

BLOCK_SIZE = 256            # threads per block of the 1-D (elementwise, gather) kernels
BLOCKS_PER_SM = 32          # enough resident blocks to hide memory latency


def ceil_div(a, b):
    return -(-int(a) // int(b))


def grid_1d(n, sm_count, threads=BLOCK_SIZE):
    """(blocks, threads) of a grid-stride loop over ``n`` items."""
    return max(1, min(ceil_div(n, threads), sm_count * BLOCKS_PER_SM)), threads


def rows_geometry(rows, length):
    """How a kernel that reduces along rows of ``length`` elements splits the work: one warp
    per row when rows are short (<= 1024 elements), else one block of up to 512 threads (fewer
    for rows that would leave most threads idle)."""
    if length <= 1024:
        return 'warp', 32
    threads = 512 if length >= 4096 else 256
    return 'block', threads
