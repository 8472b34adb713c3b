"""The registry (richneuron.neurons.registry): every entry of the torch-free catalogue bound to
its layer class, aliases to one class, and each layer's equation for the book."""

from richneuron import neurons
from richneuron.architectures import ABLATION, RELATED_FAMILIES
from richneuron.architectures import ARCHITECTURES as CATALOGUE
from richneuron.neurons import ARCHITECTURES, get_arch

# Layer classes that are frames for others, not architectures of their own.
FRAMES = {"NeuronLayer", "GLU", "PhaseGLU", "SirenFirst"}


def test_the_catalogue_names_every_layer_class_and_the_registry_binds_it():
    classes = {
        name
        for name in neurons.__all__
        if isinstance(getattr(neurons, name), type)
        and issubclass(getattr(neurons, name), neurons.NeuronLayer)
    }
    assert {info.layer_name for info in CATALOGUE.values()} == classes - FRAMES
    assert get_arch("v4_glu").layer is get_arch("singlu").layer is neurons.SinGLU
    assert get_arch("v4_glu").canonical == "singlu" and get_arch("kan").layer is neurons.KAN
    assert get_arch("siren").equation == neurons.Siren.equation != ""


def test_every_architecture_has_a_layer_an_equation_and_a_chapter():
    assert list(ARCHITECTURES) == list(CATALOGUE) and len(ARCHITECTURES) == 27
    for arch, spec in ARCHITECTURES.items():
        info = CATALOGUE[arch]
        assert (spec.id, spec.title, spec.chapter, spec.matrices) == (
            info.id, info.title, info.chapter, info.matrices
        )
        assert spec.layer.__doc__ and spec.equation
        assert spec.layer.__name__ == spec.layer_name
        assert spec.chapter.startswith("v") or spec.chapter in (*RELATED_FAMILIES, ABLATION)
