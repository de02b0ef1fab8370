"""Symbol: naming, attributes, structure queries, composition, inference and JSON.

Expected values were produced by the real MXNet 1.9.1 for the same calls."""
import json
import os
import pickle

import numpy as np
import pytest

import mxref as mx


@pytest.fixture(autouse=True)
def fresh_names():
    with mx.name.NameManager():
        yield


def test_automatic_names():
    a, b = mx.sym.Variable('a'), mx.sym.Variable('b')
    names = [(a + b).name, (a + 1).name, (1 - a).name, (-a).name, (a ** 2).name, (2 ** a).name,
             (a == b).name, (a == 1).name, (a / 2).name, (2 / a).name, (a * b).name,
             mx.sym.FullyConnected(a, num_hidden=2).name, (a + b).name]
    assert names == ['_plus0', '_plusscalar0', '_rminusscalar0', '_mulscalar0', '_powerscalar0',
                     '_rpower_scalar0', '_equal0', '_equal_scalar0', '_divscalar0',
                     '_rdivscalar0', '_mul0', 'fullyconnected0', '_plus1']
    ops = json.loads((a + b).tojson())['nodes'][-1]['op'], json.loads((a * 2).tojson())['nodes'][-1]
    assert ops[0] == 'elemwise_add'
    assert ops[1]['op'] == '_mul_scalar' and ops[1]['attrs'] == {'scalar': '2'}


def test_prefix_and_auto_created_variables():
    a = mx.sym.Variable('a')
    with mx.name.Prefix('net_'):
        fc = mx.sym.FullyConnected(a, num_hidden=4, name='fc')
        anonymous = mx.sym.FullyConnected(a, num_hidden=4)
    assert fc.list_arguments() == ['a', 'net_fc_weight', 'net_fc_bias']
    assert anonymous.name == 'net_fullyconnected0'
    conv_like = mx.sym.Embedding(a, input_dim=3, output_dim=2, name='emb')
    assert conv_like.list_arguments() == ['a', 'emb_weight']
    # auto-created variables carry a copy of the operator's attributes, as in MXNet
    assert fc.attr_dict()['net_fc_weight'] == {'num_hidden': '4'}


def test_variable_attributes():
    b = mx.sym.Variable('b', shape=(2, 3), lr_mult=2, wd_mult=0.5, dtype='float16',
                        init='["zero", {}]', __myattr__='yes')
    assert b.list_attr() == {'__shape__': '(2, 3)', '__lr_mult__': '2', '__wd_mult__': '0.5',
                             '__dtype__': '2', '__init__': '["zero", {}]', '__myattr__': 'yes',
                             'lr_mult': '2', 'wd_mult': '0.5'}
    assert b.attr('lr_mult') == '2' and b.attr('__lr_mult__') == '2' and b.attr('none') is None
    with pytest.raises(ValueError, match='double underscores'):
        mx.sym.Variable('c', badattr=1)
    with pytest.raises(TypeError, match='string'):
        mx.sym.Variable(3)


def test_attr_scope():
    with mx.AttrScope(ctx_group='dev1', group='x'):
        v = mx.sym.Variable('v', attr={'group': 'y'})
    with mx.AttrScope(ctx_group='dev1'):
        fc = mx.sym.FullyConnected(v, num_hidden=2, name='fc', attr={'__mood__': 'ok'})
    assert v.list_attr() == {'__ctx_group__': 'dev1', 'group': 'y', 'ctx_group': 'dev1'}
    assert mx.sym.Variable('w').list_attr() == {}
    with pytest.raises(mx.MXNetError, match="unknown parameter 'group'"):
        with mx.AttrScope(group='x'):
            mx.sym.FullyConnected(v, num_hidden=2)
    assert fc.attr('__mood__') == 'ok' and fc.attr('ctx_group') == 'dev1'


def test_structure_queries():
    a = mx.sym.Variable('a')
    fc = mx.sym.FullyConnected(a, num_hidden=4, name='fc')
    c = a + mx.sym.Variable('b')
    group = mx.sym.Group([fc, c])
    assert group.name is None and repr(group) == '<Symbol group [fc, _plus0]>'
    assert group.list_outputs() == ['fc_output', '_plus0_output']
    assert fc.get_children().list_outputs() == ['a', 'fc_weight', 'fc_bias']
    assert a.get_children() is None
    sl = mx.sym.SliceChannel(a, num_outputs=3, name='sl')
    assert sl.name == 'sl' and len(sl) == 3
    assert sl.list_outputs() == ['sl_output0', 'sl_output1', 'sl_output2']
    assert sl[1].list_outputs() == ['sl_output1'] and sl['sl_output2'].list_outputs() == ['sl_output2']
    assert [s.list_outputs()[0] for s in sl] == sl.list_outputs()
    with pytest.raises(IndexError):
        sl[3]
    with pytest.raises(ValueError, match='Cannot find output'):
        sl['nope']
    bn = mx.sym.BatchNorm(a, name='bn')
    assert bn.list_arguments() == ['a', 'bn_gamma', 'bn_beta']
    assert bn.list_auxiliary_states() == ['bn_moving_mean', 'bn_moving_var']
    assert bn.list_inputs() == ['a', 'bn_gamma', 'bn_beta', 'bn_moving_mean', 'bn_moving_var']
    assert bn.list_outputs() == ['bn_output']
    assert bn.attr_dict()['bn_moving_var']['__init__'] == '["one", {}]'
    assert mx.sym.Dropout(a, name='do').get_internals().list_outputs() == ['a', 'do_output']
    internals = fc.get_internals()
    assert internals.list_outputs() == ['a', 'fc_weight', 'fc_bias', 'fc_output']
    assert internals['fc_output'].list_outputs() == ['fc_output']


def test_symbol_tutorial_graph():
    A, B, C, D = (mx.sym.Variable(n) for n in 'ABCD')
    E = (A * B) + (C * D)
    assert E.list_arguments() == ['A', 'B', 'C', 'D']
    assert E.list_outputs() == ['_plus0_output']
    assert E.get_internals().list_outputs() == ['A', 'B', '_mul0_output', 'C', 'D',
                                                '_mul1_output', '_plus0_output']
    args = {n: mx.nd.array([v], dtype='int32') for n, v in zip('ABCD', (1, 2, 3, 4))}
    out = E.bind(mx.cpu(), args).forward()[0]
    assert out.dtype == np.int32 and out.asscalar() == 14


def test_composition():
    a = mx.sym.Variable('a')
    fc = mx.sym.FullyConnected(a, num_hidden=4, name='fc')
    net2 = mx.sym.FullyConnected(mx.sym.Variable('data2'), num_hidden=3, name='fcb')
    composed = net2(data2=fc)
    assert composed.list_arguments() == ['a', 'fc_weight', 'fc_bias', 'fcb_weight', 'fcb_bias']
    assert net2.list_arguments() == ['data2', 'fcb_weight', 'fcb_bias']     # unchanged
    assert net2(fc).list_arguments()[0] == 'a'
    with pytest.raises(ValueError, match='not found'):
        net2(nope=fc)
    with pytest.raises(TypeError, match='either as positional or keyword'):
        net2(fc, data2=fc)
    renamed = net2(data2=fc, name='head')
    assert renamed.name == 'head'


def test_operator_input_errors():
    a = mx.sym.Variable('a')
    sl = mx.sym.SliceChannel(a, num_outputs=2)
    with pytest.raises(ValueError, match="input 'data' must be a single output"):
        mx.sym.FullyConnected(sl, num_hidden=2)
    with pytest.raises(TypeError, match="no input named 'foo'"):
        mx.sym.FullyConnected(foo=a, num_hidden=2)
    with pytest.raises(mx.MXNetError, match="not implemented in mxref"):
        mx.sym.load_json(json.dumps({'nodes': [{'op': 'NoSuchOp', 'name': 'x', 'inputs': []}],
                                     'arg_nodes': [], 'heads': [[0, 0, 0]]}))
    with pytest.raises(TypeError, match='in-place'):
        a += 1
    with pytest.raises(TypeError, match='not supported'):
        a + 'x'


def test_infer_shape_and_type():
    a = mx.sym.Variable('a')
    fc = mx.sym.FullyConnected(a, num_hidden=4, name='fc')
    assert fc.infer_shape(a=(3, 5)) == ([(3, 5), (4, 5), (4,)], [(3, 4)], [])
    assert fc.infer_shape((3, 5)) == ([(3, 5), (4, 5), (4,)], [(3, 4)], [])
    assert fc.infer_shape_partial() == ([(), (), ()], [()], [])
    with pytest.warns(UserWarning, match='Cannot decide shape'):
        assert fc.infer_shape() == (None, None, None)
    with pytest.raises(mx.MXNetError, match='does not match weight'):
        fc.infer_shape(a=(3, 5), fc_weight=(4, 6))
    with pytest.raises(ValueError, match='not found'):
        fc.infer_shape(b=(1,))
    hinted = mx.sym.Variable('h', shape=(2, 7)) * 2
    assert hinted.infer_shape()[1] == [(2, 7)]
    c = a + mx.sym.Variable('b')
    assert c.infer_type(a='float64') == ([np.float64, np.float64], [np.float64], [])
    bn = mx.sym.BatchNorm(a, name='bn')
    assert bn.infer_shape(a=(2, 3, 4))[2] == [(3,), (3,)]
    assert mx.sym.Variable('x', dtype='int32').infer_type()[1] == [np.int32]


@pytest.mark.parametrize('name', ['mlp', 'lenet', 'lstm'])
def test_fixture_json_round_trip(fixtures_dir, name):
    """MXNet's files load, match cases.json, and serialise back byte for byte."""
    if name == 'lenet' and 'Convolution' not in mx.operator.registered_names():
        pytest.skip('Convolution arrives with the kernels issue')
    path = os.path.join(fixtures_dir, '%s-symbol.json' % name)
    sym = mx.sym.load(path)
    cases = json.load(open(os.path.join(fixtures_dir, 'cases.json')))['cases']
    case = next(c for c in cases if c['name'] == name)
    assert sym.list_arguments() == case['arguments']
    assert sym.list_outputs() == case['outputs']
    assert sym.list_auxiliary_states() == case['aux_states']
    assert sym.tojson() == open(path).read()
    shapes = dict(case['data_shapes'] + case['label_shapes'])
    arg_shapes, out_shapes, _ = sym.infer_shape(**shapes)
    assert all(arg_shapes) and all(out_shapes)


def test_json_round_trip_keeps_versions_and_attributes(tmp_path):
    data = mx.sym.Variable('data', lr_mult=0.5)
    net = mx.sym.BatchNorm(data, name='bn', fix_gamma=False)
    net = mx.sym.Activation(net, act_type='relu', name='relu')
    text = net.tojson()
    nodes = json.loads(text)['nodes']
    bn_node = next(n for n in nodes if n['name'] == 'bn')
    assert bn_node['inputs'][3][2] == 1 and bn_node['inputs'][4][2] == 1   # mutated: version 1
    again = mx.sym.load_json(text)
    assert again.tojson() == text
    fname = str(tmp_path / 'net-symbol.json')
    net.save(fname)
    assert mx.sym.load(fname).tojson() == text
    assert pickle.loads(pickle.dumps(net)).tojson() == text       # pickled as its JSON


def test_legacy_json_is_upgraded():
    legacy = {'nodes': [{'op': 'null', 'name': 'data', 'inputs': []},
                        {'op': 'BatchNorm', 'name': 'bn', 'param': {'eps': '0.001'},
                         'inputs': [[0, 0], [0, 0], [0, 0]], 'backward_source_id': -1},
                        {'op': 'null', 'name': 'w', 'attr': {'lr_mult': '2'}, 'inputs': []}],
              'arg_nodes': [0, 2], 'heads': [[1, 0]]}
    sym = mx.sym.load_json(json.dumps(legacy))
    assert sym.list_auxiliary_states() == ['bn_moving_mean', 'bn_moving_var']
    assert sym.attr('eps') == '0.001'


def test_json_errors():
    with pytest.raises(ValueError, match='not valid JSON'):
        mx.sym.load_json('{')
    with pytest.raises(ValueError, match="missing required field 'heads'"):
        mx.sym.load_json('{"nodes": []}')
    bad = {'nodes': [{'op': 'null', 'name': 'a', 'inputs': []},
                     {'op': 'relu', 'name': 'r', 'inputs': [[5, 0, 0]]}], 'heads': [[1, 0, 0]]}
    with pytest.raises(ValueError, match='does not come before it'):
        mx.sym.load_json(json.dumps(bad))
    extra = {'nodes': [{'op': 'null', 'name': 'a', 'inputs': []},
                       {'op': 'relu', 'name': 'r', 'inputs': [[0, 0, 0], [0, 0, 0]]}],
             'heads': [[1, 0, 0]]}
    with pytest.raises(ValueError, match='has 2 inputs'):
        mx.sym.load_json(json.dumps(extra))


MLP_DEBUG_STR = '''Symbol Outputs:
\toutput[0]=softmax(0)
Variable:data
Variable:fc1_weight
Variable:fc1_bias
--------------------
Op:FullyConnected, Name=fc1
Inputs:
\targ[0]=data(0) version=0
\targ[1]=fc1_weight(0) version=0
\targ[2]=fc1_bias(0) version=0
Attrs:
\tnum_hidden=64
--------------------
Op:Activation, Name=relu1
Inputs:
\targ[0]=fc1(0)
Attrs:
\tact_type=relu
Variable:fc2_weight
Variable:fc2_bias
--------------------
Op:FullyConnected, Name=fc2
Inputs:
\targ[0]=relu1(0)
\targ[1]=fc2_weight(0) version=0
\targ[2]=fc2_bias(0) version=0
Attrs:
\tnum_hidden=26
Variable:softmax_label
--------------------
Op:SoftmaxOutput, Name=softmax
Inputs:
\targ[0]=fc2(0)
\targ[1]=softmax_label(0) version=0
'''


def test_debug_str():
    data = mx.sym.Variable('data')
    net = mx.sym.FullyConnected(data, num_hidden=64, name='fc1')
    net = mx.sym.Activation(net, act_type='relu', name='relu1')
    net = mx.sym.FullyConnected(net, num_hidden=26, name='fc2')
    net = mx.sym.SoftmaxOutput(net, name='softmax')
    assert net.debug_str() == MLP_DEBUG_STR
    assert data.debug_str() == 'Variable:data\n'


def test_fluent_methods_and_eval():
    a = mx.sym.Variable('a')
    out = a.reshape((-1,)).sum().eval(a=mx.nd.ones((2, 3)))
    assert out[0].asscalar() == 6
    with pytest.raises(AttributeError):
        a.no_such_method


def test_current_scopes_are_class_properties():
    assert mx.name.NameManager.current.get(None, 'conv') == 'conv0'
    with mx.name.Prefix('p_'):
        assert mx.name.NameManager.current.get('fc', 'fc') == 'p_fc'
    with mx.AttrScope(group='4'):
        assert mx.AttrScope.current.get({'x': 'y'}) == {'group': '4', 'x': 'y'}
    assert mx.AttrScope.current.get(None) == {}
    with pytest.raises(TypeError, match='must be a string'):
        mx.AttrScope(group=4)


def test_attr_scope_can_be_entered_again():
    inner = mx.AttrScope(b='2')
    with mx.AttrScope(a='1'):
        with inner:
            assert mx.sym.Variable('x').list_attr() == {'a': '1', 'b': '2'}
    with inner:
        assert mx.sym.Variable('y').list_attr() == {'b': '2'}
