using Compare.Core.Indexing;

namespace Compare.Core.Tests;

public sealed class SketchCodecTests
{
    [Fact]
    public void Decode_EncodedSketch_RoundTrips()
    {
        var parameters = SketchParameters.Default with { Normalization = new Text.NormalizationOptions(FoldDigits: true), NumPermutations = 64 };
        DocumentSketch sketch = new DocumentSketcher(parameters).Sketch(TestData.Seed2016);

        DocumentSketch decoded = SketchCodec.Decode(SketchCodec.Encode(sketch, parameters), parameters);

        Assert.Equal(sketch.Shingles, decoded.Shingles);
        Assert.Equal(sketch.Signature, decoded.Signature);
    }

    [Fact]
    public void Decode_OtherParametersOrVersionOrTruncated_ThrowsFormatException()
    {
        DocumentSketch sketch = new DocumentSketcher(SketchParameters.Default).Sketch(TestData.Seed2014);
        byte[] bytes = SketchCodec.Encode(sketch, SketchParameters.Default);

        Assert.Contains("expected", Assert.Throws<FormatException>(() => SketchCodec.Decode(bytes, SketchParameters.Default with { Seed = 1 })).Message, StringComparison.Ordinal);
        byte[] future = (byte[])bytes.Clone();
        future[4] = 99;
        Assert.Contains("format version 99", Assert.Throws<FormatException>(() => SketchCodec.Decode(future, SketchParameters.Default)).Message, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => SketchCodec.Decode(bytes.AsSpan(0, bytes.Length - 1), SketchParameters.Default));
        Assert.Throws<FormatException>(() => SketchCodec.Decode([1, 2, 3], SketchParameters.Default));
    }
}
