"""Finding, caching and downloading the datasets the tutorials use.

A dataset file ``<dataset>/<file>`` is looked for, in order:

1. under ``$MXREF_DATA_DIR`` (``$MXREF_DATA_DIR/mnist/train-images-idx3-ubyte.gz``);
2. in the cache, ``$MXREF_CACHE_DIR`` or else ``~/.mxref/datasets``;
3. otherwise it is downloaded from the dataset's mirrors into the cache, with a progress bar.
   A download whose SHA-256 does not match is deleted and reported, never cached.

Checksums are of the file's *content*: for a gzip file, of the decompressed bytes, so a
mirror that compressed the same data differently is still accepted.

>>> sorted(DATASETS)
['letter-recognition', 'mnist']
>>> sorted(DATASETS['mnist']['files'])[0]
't10k-images-idx3-ubyte.gz'
"""
import gzip
import hashlib
import os
import sys
import tempfile
import zlib

import numpy as np

from .base import MXNetError, MXNetValueError

__all__ = ['DATASETS', 'DatasetError', 'data_dir', 'cache_dir', 'get_file', 'download',
           'content_sha256', 'mnist_files', 'load_letter_recognition']

DATASETS = {
    'mnist': {
        'files': {
            'train-images-idx3-ubyte.gz':
                'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db',
            'train-labels-idx1-ubyte.gz':
                '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5',
            't10k-images-idx3-ubyte.gz':
                '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7',
            't10k-labels-idx1-ubyte.gz':
                'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2',
        },
        'mirrors': ['https://ossci-datasets.s3.amazonaws.com/mnist/',
                    'https://storage.googleapis.com/cvdf-datasets/mnist/',
                    'http://yann.lecun.com/exdb/mnist/'],
    },
    'letter-recognition': {
        'files': {
            'letter-recognition.data':
                '2b89f3602cf768d3c8355267d2f13f2417809e101fc2b5ceee10db19a60de6e2',
        },
        'mirrors': ['https://archive.ics.uci.edu/ml/machine-learning-databases/'
                    'letter-recognition/',
                    'https://s3.us-east-2.amazonaws.com/mxnet-public/letter_recognition/'],
    },
}


class DatasetError(MXNetError):
    """A dataset file could not be found, downloaded or verified."""


def data_dir():
    """The folder named by ``MXREF_DATA_DIR`` (None when unset)."""
    return os.environ.get('MXREF_DATA_DIR') or None


def cache_dir():
    """The download cache: ``MXREF_CACHE_DIR``, else ``~/.mxref/datasets``."""
    return os.environ.get('MXREF_CACHE_DIR') or os.path.join(os.path.expanduser('~'), '.mxref',
                                                             'datasets')


def content_sha256(path):
    """SHA-256 of the file's content (of the decompressed bytes for a gzip file)."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        gzipped = f.read(2) == b'\x1f\x8b'
    opener = gzip.open if gzipped else open
    try:
        with opener(path, 'rb') as f:
            for chunk in iter(lambda: f.read(1 << 20), b''):
                digest.update(chunk)
    except (OSError, EOFError, zlib.error) as err:
        raise DatasetError('%s is corrupt or truncated (%s)' % (path, err)) from None
    return digest.hexdigest()


def _progress(done, total, out):
    width = 40
    if total:
        filled = int(width * done / total)
        out.write('\r[%s%s] %3d%% %.1f/%.1f MB' % ('=' * filled, ' ' * (width - filled),
                                                  100 * done // total, done / 1e6, total / 1e6))
    else:
        out.write('\r%.1f MB' % (done / 1e6))
    out.flush()


def download(url, path, sha256=None, progress=True):
    """Download ``url`` to ``path`` (through a temporary file, checked against ``sha256``).

    A mismatching or failed download leaves nothing at ``path`` and raises
    :class:`DatasetError`.  Returns ``path``.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', suffix='.part',
                               dir=directory)
    import urllib.request          # imported here: only downloads need it
    out = sys.stderr
    try:
        with os.fdopen(fd, 'wb') as f:
            try:
                with urllib.request.urlopen(url, timeout=60) as response:
                    total = int(response.headers.get('Content-Length') or 0)
                    if progress:
                        out.write('Downloading %s from %s\n' % (os.path.basename(path), url))
                    done = 0
                    for chunk in iter(lambda: response.read(1 << 16), b''):
                        f.write(chunk)
                        done += len(chunk)
                        if progress:
                            _progress(done, total, out)
                    if progress:
                        out.write('\n')
            except OSError as err:
                raise DatasetError('downloading %s failed: %s' % (url, err)) from None
        if sha256 is not None:
            actual = content_sha256(tmp)
            if actual != sha256:
                raise DatasetError('the file downloaded from %s has SHA-256 %s, expected %s; it '
                                   'was not kept' % (url, actual, sha256))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def get_file(dataset, filename, progress=True):
    """The local path of ``filename`` of ``dataset``, downloading it into the cache if needed."""
    if dataset not in DATASETS or filename not in DATASETS[dataset]['files']:
        raise MXNetValueError('unknown dataset file %s/%s (known: %s)'
                              % (dataset, filename,
                                 ', '.join('%s/%s' % (d, f) for d in sorted(DATASETS)
                                           for f in sorted(DATASETS[d]['files']))))
    roots = [r for r in (data_dir(), cache_dir()) if r]
    for root in roots:
        for candidate in (os.path.join(root, dataset, filename), os.path.join(root, filename)):
            if os.path.isfile(candidate):
                return candidate
    target = os.path.join(cache_dir(), dataset, filename)
    errors = []
    for mirror in DATASETS[dataset]['mirrors']:
        try:
            return download(mirror + filename, target, DATASETS[dataset]['files'][filename],
                            progress)
        except DatasetError as err:
            errors.append(str(err))
    raise DatasetError('%s/%s is not in MXREF_DATA_DIR (%s) nor in the cache (%s), and every '
                       'download failed:\n  %s' % (dataset, filename, data_dir(), cache_dir(),
                                                   '\n  '.join(errors)))


def mnist_files(progress=True):
    """Paths of the four MNIST IDX files: keys ``train_data``, ``train_label``, ``test_data``,
    ``test_label``."""
    names = {'train_data': 'train-images-idx3-ubyte.gz',
             'train_label': 'train-labels-idx1-ubyte.gz',
             'test_data': 't10k-images-idx3-ubyte.gz',
             'test_label': 't10k-labels-idx1-ubyte.gz'}
    return {key: get_file('mnist', name, progress) for key, name in names.items()}


def load_letter_recognition(path=None):
    """UCI Letter Recognition: ``(features, labels)``.

    ``features`` is (20000, 16) float64 (the 16 integer attributes), ``labels`` (20000,) int
    with 'A' = 0 ... 'Z' = 25, in the file's order.
    """
    path = path or get_file('letter-recognition', 'letter-recognition.data')
    features, labels = [], []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            fields = line.split(',')
            if len(fields) != 17 or len(fields[0]) != 1 or not 'A' <= fields[0] <= 'Z':
                raise DatasetError('%s line %d is not "<letter>,<16 numbers>": %r'
                                   % (path, number, line[:80]))
            try:
                features.append([float(v) for v in fields[1:]])
            except ValueError:
                raise DatasetError('%s line %d has a value that is not a number: %r'
                                   % (path, number, line[:80])) from None
            labels.append(ord(fields[0]) - ord('A'))
    return np.array(features, dtype=np.float64), np.array(labels, dtype=np.int64)
