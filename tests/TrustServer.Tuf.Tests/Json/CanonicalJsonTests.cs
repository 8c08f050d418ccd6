using System.Text;
using TrustServer.Tuf.Json;

namespace TrustServer.Tuf.Tests.Json;

/// <summary>Canonical JSON as Notary's docker/go encoder produces it (spec tuf-metadata.md §8).</summary>
public sealed class CanonicalJsonTests
{
    private static string Canonical(string json) => Encoding.UTF8.GetString(CanonicalJson.Canonicalize(Encoding.UTF8.GetBytes(json)));

    [Fact]
    public void Canonicalize_SpecWorkedExample_MatchesSpec()
    {
        var input = "{ \"version\" : 1.0, \"_type\":\"Targets\", \"targets\":{\"a\\u003cb\":{\"length\":6,\"hashes\":{\"sha256\":\"AA==\"}}} }";

        Assert.Equal("{\"_type\":\"Targets\",\"targets\":{\"a<b\":{\"hashes\":{\"sha256\":\"AA==\"},\"length\":6}},\"version\":1}", Canonical(input));
    }

    [Fact]
    public void Canonicalize_EscapesOnlyQuoteAndBackslash_WritesEverythingElseRaw()
    {
        var canonical = CanonicalJson.Canonicalize(Encoding.UTF8.GetBytes("[\"q\\\"b\\\\n\\nt\\t<>&\\u2028é€\\ud83d\\ude00\\/\"]"));

        Assert.Equal(Encoding.UTF8.GetBytes("[\"q\\\"b\\\\n\nt\t<>&\u2028é€\U0001F600/\"]"), canonical);
    }

    [Theory]
    [InlineData("1.0", "1")]
    [InlineData("1e3", "1000")]
    [InlineData("-0", "0")]
    [InlineData("-12", "-12")]
    [InlineData("2.5E1", "25")]
    [InlineData("9007199254740993", "9007199254740992")] // through a double, as Go decodes into interface{}
    public void Canonicalize_IntegralNumbers_WrittenAsPlainIntegers(string literal, string expected)
    {
        Assert.Equal($"[{expected}]", Canonical($"[{literal}]"));
    }

    [Theory]
    [InlineData("1.5")]
    [InlineData("1e400")]
    [InlineData("1e19")]
    [InlineData("-1e300")]
    public void Canonicalize_NumbersWithoutCanonicalForm_ThrowTypedError(string literal)
    {
        Assert.Throws<TufFormatException>(() => Canonical($"{{\"v\":{literal}}}"));
    }

    [Theory]
    [InlineData("1.5", "1.5")]
    [InlineData("1.50", "1.5")]
    [InlineData("-2.25", "-2.25")]
    [InlineData("0.1", "0.1")]
    [InlineData("0.0001", "0.0001")]
    [InlineData("0.00001", "1e-05")]
    [InlineData("123456.5", "123456.5")]
    [InlineData("1234567.5", "1.2345675e+06")]
    [InlineData("1.5e-300", "1.5e-300")]
    public void Canonicalize_Fractions_FailWithGosMessage(string literal, string goFormatted)
    {
        // strconv.FormatFloat(f, 'g', -1, 64): %e below 1e-4 and from 1e6 on, exponent with at least two digits.
        var error = Assert.Throws<TufFormatException>(() => Canonical($"[{literal}]"));
        Assert.Equal($"json: unsupported value: {goFormatted}", error.Message);
    }

    [Fact]
    public void Canonicalize_SortsKeysByUtf8Bytes_NotUtf16()
    {
        // U+E000 is EE 80 80 in UTF-8 and sorts before U+1F600 (F0 9F 98 80); in UTF-16 the surrogate D83D sorts first.
        var canonical = Canonical("{\"\\ud83d\\ude00\":1,\"\\ue000\":2,\"b\":3,\"B\":4,\"a\":5,\"é\":6}");

        Assert.Equal("{\"B\":4,\"a\":5,\"b\":3,\"é\":6,\"\uE000\":2,\"\U0001F600\":1}", canonical);
    }

    [Fact]
    public void Canonicalize_DuplicateKeys_LastValueWins()
    {
        Assert.Equal("{\"a\":2,\"b\":1}", Canonical("{\"a\":1,\"b\":1,\"a\":2}"));
    }

    [Fact]
    public void Canonicalize_NestedArraysAndLiterals_KeepOrderWithoutWhitespace()
    {
        Assert.Equal("{\"x\":[true,false,null,[],{}],\"y\":\"\"}", Canonical(" { \"y\" : \"\" ,\n\"x\" : [ true , false , null , [ ] , { } ] } "));
    }

    [Fact]
    public void Parse_InvalidUtf8_BecomesReplacementCharacter()
    {
        var input = new byte[] { (byte)'"', (byte)'a', 0xFF, (byte)'b', 0xC3, (byte)'"' };

        var value = Assert.IsType<JsonString>(JsonParser.Parse(input));

        Assert.Equal("a\uFFFDb\uFFFD", value.Value);
    }

    [Fact]
    public void Parse_LoneSurrogateEscape_BecomesReplacementCharacter()
    {
        var value = Assert.IsType<JsonString>(JsonParser.Parse("\"x\\ud800y\\udc00\""u8));

        Assert.Equal("x\uFFFDy\uFFFD", value.Value);
    }

    [Fact]
    public void Parse_RecordsSourceSpanOfEveryValue()
    {
        var input = "{\"signed\": {\"a\" : [1, 2]} , \"z\":null}"u8.ToArray();

        var root = Assert.IsType<JsonObject>(JsonParser.Parse(input));

        var signed = root["signed"]!;
        Assert.Equal("{\"a\" : [1, 2]}", Encoding.UTF8.GetString(input, signed.SourceOffset, signed.SourceLength));
        Assert.Equal(0, root.SourceOffset);
        Assert.Equal(input.Length, root.SourceLength);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("{\"a\":1")]
    [InlineData("{\"a\" 1}")]
    [InlineData("{\"a\":1,}")]
    [InlineData("[1,]")]
    [InlineData("{a:1}")]
    [InlineData("\"unterminated")]
    [InlineData("\"bad escape \\x\"")]
    [InlineData("\"bad unicode \\u12G4\"")]
    [InlineData("\"truncated \\u12")]
    [InlineData("01")]
    [InlineData("-")]
    [InlineData("1.")]
    [InlineData("1e")]
    [InlineData("+1")]
    [InlineData("tru")]
    [InlineData("nul")]
    [InlineData("NaN")]
    [InlineData("{} {}")]
    [InlineData("[1] x")]
    [InlineData("'single'")]
    public void Parse_MalformedJson_ThrowsTypedError(string json)
    {
        var error = Assert.Throws<TufFormatException>(() => JsonParser.Parse(Encoding.UTF8.GetBytes(json)));
        Assert.StartsWith("invalid JSON at offset", error.Message);
    }

    [Fact]
    public void Parse_RawControlCharacterInString_IsRejected()
    {
        Assert.Throws<TufFormatException>(() => JsonParser.Parse("\"a\nb\""u8));
    }

    [Fact]
    public void Parse_DeepNesting_IsRejectedWithoutStackOverflow()
    {
        var deep = new string('[', 100_000) + new string(']', 100_000);

        var error = Assert.Throws<TufFormatException>(() => JsonParser.Parse(Encoding.ASCII.GetBytes(deep)));
        Assert.Contains("nesting deeper than", error.Message);
    }

    [Fact]
    public void Parse_NestingAtTheLimit_IsAccepted()
    {
        var json = new string('[', JsonParser.MaxDepth + 1) + new string(']', JsonParser.MaxDepth + 1);

        Assert.IsType<JsonArray>(JsonParser.Parse(Encoding.ASCII.GetBytes(json)));
    }

    [Fact]
    public void CompareUtf8_OrdersLikeUtf8Bytes()
    {
        var keys = new[] { "\U0001F600", "\uE000", "a", "", "ab", "Z" };

        Array.Sort(keys, CanonicalJson.CompareUtf8);

        var byBytes = keys.OrderBy(k => Encoding.UTF8.GetBytes(k), Comparer<byte[]>.Create((x, y) => x.AsSpan().SequenceCompareTo(y))).ToArray();
        Assert.Equal(byBytes, keys);
        Assert.Equal(["", "Z", "a", "ab", "\uE000", "\U0001F600"], keys);
    }
}
