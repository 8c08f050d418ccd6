using System.Text;
using TrustServer.Tuf.Json;
using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Validation;

namespace TrustServer.Tuf.Tests.Json;

/// <summary>
/// The large-upload path (issue §5): envelopes are checked without building the body's tree, canonical JSON is
/// written from the bytes, and signatures that cannot reach the threshold are refused before canonicalizing.
/// </summary>
public sealed class StreamingParseTests
{
    [Theory]
    [InlineData("{\"b\":1,\"a\":[true,false,null,{\"z\":\"x\",\"y\":-0}],\"c\":{}}")]
    [InlineData("{\"k\":1,\"k\":2,\"j\":{\"k\":\"first\",\"k\":\"last\"}}")]
    [InlineData("{ \"s\" : \"q\\\"b\\\\n\\nt\\t<>&\\u2028é€\\ud83d\\ude00\\/\\ud800x\" , \"n\" : [ 1.0 , 1e3 , 2.5E1 , 9007199254740993 ] }")]
    [InlineData("{\"\\u00e9\":1,\"z\":2,\"\\ud83d\\ude00\":3,\"\\uffff\":4,\"a\\u0000\":5}")]
    [InlineData("[[], {}, [[[\"deep\"]]], \"\"]")]
    public void Canonicalize_FromBytes_EqualsEncodingTheParsedTree(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);

        Assert.Equal(CanonicalJson.Encode(JsonParser.Parse(bytes)), CanonicalJson.Canonicalize(bytes));
    }

    [Fact]
    public void Canonicalize_FromBytes_InvalidUtf8BecomesReplacementCharacters_AsInTheTree()
    {
        byte[] bytes = [.. "{\"a\":\""u8, 0xFF, 0xC3, (byte)'x', .. "\",\"b\":\""u8, 0xE2, 0x82, .. "\"}"u8];

        Assert.Equal(CanonicalJson.Encode(JsonParser.Parse(bytes)), CanonicalJson.Canonicalize(bytes));
    }

    [Theory]
    [InlineData("{\"a\":1} x")]
    [InlineData("{\"a\":[1,}")]
    [InlineData("{\"a\":\"\\q\"}")]
    [InlineData("{\"a\":\"raw\ncontrol\"}")]
    [InlineData("{\"a\":01}")]
    [InlineData("{\"a\":\"unterminated}")]
    public void Outline_RejectsWhatParseRejects(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);

        Assert.Throws<TufFormatException>(() => JsonParser.Parse(bytes));
        Assert.Throws<TufFormatException>(() => JsonParser.Outline(bytes));
    }

    [Fact]
    public void Envelope_Parse_BuildsTheBodyOnlyWhenAskedFor_AndKeepsTheSameMeaning()
    {
        var bytes = "{\"signed\":{\"_type\":\"Targets\",\"version\":3,\"version\":4,\"expires\":\"2030-01-01T00:00:00Z\",\"targets\":{\"b\":1,\"a\":2}},\"signatures\":[{\"keyid\":\"k\",\"method\":\"ECDSA\",\"sig\":\"AAAA\"}]}"u8.ToArray();

        var envelope = SignedEnvelope.Parse(bytes);

        Assert.Equal(("Targets", 4L), (envelope.Type, envelope.Version));
        Assert.Equal("ecdsa", Assert.Single(envelope.Signatures).Method);
        Assert.Equal("{\"_type\":\"Targets\",\"expires\":\"2030-01-01T00:00:00Z\",\"targets\":{\"a\":2,\"b\":1},\"version\":4}", Encoding.UTF8.GetString(envelope.CanonicalSigned));
        Assert.Equal(CanonicalJson.Encode(envelope.Signed), envelope.CanonicalSigned);
    }

    [Fact]
    public void Envelope_Parse_RefusesMoreSignaturesThanTheBound()
    {
        var signature = "{\"keyid\":\"k\",\"method\":\"ecdsa\",\"sig\":\"AAAA\"}";
        var bytes = Encoding.UTF8.GetBytes("{\"signed\":{\"_type\":\"Targets\",\"version\":1},\"signatures\":["
            + string.Join(',', Enumerable.Repeat(signature, SignedEnvelope.MaxSignatures + 1)) + "]}");

        var error = Assert.Throws<TufFormatException>(() => SignedEnvelope.Parse(bytes));
        Assert.Contains($"more than {SignedEnvelope.MaxSignatures}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Threshold_SignaturesByUnknownKeys_RefusedWithoutCanonicalizing()
    {
        using var key = TufSigningKey.Generate(KeyType.Ecdsa);
        var role = new BaseRole("targets", new Dictionary<string, TufPublicKey> { [key.PublicKey.Id] = key.PublicKey }, 1);

        // 1.5 has no canonical form: had the body been canonicalized, that would be the error.
        var bytes = "{\"signed\":{\"_type\":\"Targets\",\"version\":1,\"x\":1.5},\"signatures\":[{\"keyid\":\"unknown\",\"method\":\"ecdsa\",\"sig\":\"AAAA\"}]}"u8.ToArray();
        var byKnownKey = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(bytes).Replace("unknown", key.PublicKey.Id, StringComparison.Ordinal));

        Assert.Equal("valid signatures did not meet threshold for targets", ThresholdVerifier.Verify(SignedEnvelope.Parse(bytes), role));
        Assert.Equal("json: unsupported value: 1.5", ThresholdVerifier.Verify(SignedEnvelope.Parse(byKnownKey), role));
    }
}
