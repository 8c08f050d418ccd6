using System.Text;
using TrustServer.Tuf.Json;

namespace TrustServer.Tuf.Tests.Json;

/// <summary>
/// The already-canonical fast path of <see cref="CanonicalJson.Canonicalize"/> (<see cref="CanonicalJson.IsCanonical"/>):
/// whatever it accepts must be exactly what the tree encoder writes for the same input, and it must accept what
/// Notary clients upload (canonical bodies).
/// </summary>
public sealed class CanonicalFastPathTests
{
    [Theory]
    [InlineData("{}")]
    [InlineData("[]")]
    [InlineData("{\"_type\":\"Targets\",\"delegations\":{\"keys\":{},\"roles\":[]},\"expires\":\"2030-01-01T00:00:00Z\",\"targets\":{\"a\":{\"hashes\":{\"sha256\":\"AA==\"},\"length\":6}},\"version\":3}")]
    [InlineData("{\"B\":1,\"a\":2,\"b\":3,\"é\":4,\"\uE000\":5,\"\U0001F600\":6}")]
    [InlineData("[\"q\\\"b\\\\n<>&\u2028é€\U0001F600/\"]")]
    [InlineData("[0,-1,999999999999999,-999999999999999,true,false,null,\"\",[],{}]")]
    public void IsCanonical_CanonicalInput_True(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);

        Assert.True(CanonicalJson.IsCanonical(bytes));
        Assert.Equal(bytes, CanonicalJson.Encode(JsonParser.Parse(bytes)));
    }

    [Theory]
    [InlineData("{ }")] // whitespace
    [InlineData("{\"b\":1,\"a\":2}")] // unsorted
    [InlineData("{\"a\":1,\"a\":2}")] // duplicate key
    [InlineData("{\"a\\u0062\":1}")] // escape in a key
    [InlineData("[\"\\u0041\"]")] // escape the encoder would not write
    [InlineData("[\"\\/\"]")]
    [InlineData("[\"\\n\"]")]
    [InlineData("[-0]")]
    [InlineData("[01]")]
    [InlineData("[1.0]")]
    [InlineData("[1e3]")]
    [InlineData("[1234567890123456]")] // canonical, but beyond what the fast path proves exact
    [InlineData("[1,]")]
    [InlineData("{\"a\":1,}")]
    [InlineData("{\"a\"}")]
    [InlineData("[\"a]")]
    [InlineData("[tru]")]
    [InlineData("[1]x")]
    [InlineData("")]
    public void IsCanonical_OtherInput_False(string json)
    {
        Assert.False(CanonicalJson.IsCanonical(Encoding.UTF8.GetBytes(json)));
    }

    [Fact]
    public void IsCanonical_InvalidUtf8OrControlCharacter_False()
    {
        Assert.False(CanonicalJson.IsCanonical([(byte)'[', (byte)'"', 0xFF, (byte)'"', (byte)']']));
        Assert.False(CanonicalJson.IsCanonical([(byte)'[', (byte)'"', 0xED, 0xA0, 0x80, (byte)'"', (byte)']'])); // an encoded surrogate
        Assert.False(CanonicalJson.IsCanonical([(byte)'[', (byte)'"', 0x01, (byte)'"', (byte)']']));
    }

    [Fact]
    public void IsCanonical_DeepNesting_FallsBackToTheFullPath()
    {
        static byte[] Nested(int levels) => Encoding.ASCII.GetBytes(new string('[', levels) + new string(']', levels));
        var deepest = Nested(JsonParser.MaxDepth + 1);
        var tooDeep = Nested(JsonParser.MaxDepth + 2);

        Assert.False(CanonicalJson.IsCanonical(deepest));
        Assert.Equal(deepest, CanonicalJson.Canonicalize(deepest));
        Assert.False(CanonicalJson.IsCanonical(tooDeep));
        Assert.Throws<TufFormatException>(() => CanonicalJson.Canonicalize(tooDeep));
    }

    [Fact]
    public void Canonicalize_RandomDocumentsAndMutations_FastPathNeverDiffersFromTheTreeEncoder()
    {
        var random = new Random(19);
        var accepted = 0;
        for (var i = 0; i < 3000; i++)
        {
            var canonical = CanonicalJson.Encode(RandomValue(random, 0));
            var input = i % 3 == 0 ? canonical : Mutate(random, canonical);
            byte[] expected;
            try
            {
                expected = CanonicalJson.Encode(JsonParser.Parse(input));
            }
            catch (TufFormatException)
            {
                Assert.False(CanonicalJson.IsCanonical(input), Encoding.UTF8.GetString(input));
                continue;
            }

            if (CanonicalJson.IsCanonical(input))
            {
                accepted++;
                Assert.Equal(expected, input);
            }

            Assert.Equal(expected, CanonicalJson.Canonicalize(input));
        }

        Assert.True(accepted > 1000, $"only {accepted} inputs took the fast path");
    }

    private static readonly string[] Strings = ["", "a", "b", "B", "ab", "é", "\uE000", "\U0001F600", "q\"b", "back\\slash", "tab\tnew\nline", "\u2028", "<>&", "sha256"];

    private static JsonValue RandomValue(Random random, int depth) => (depth < 4 ? random.Next(7) : random.Next(4)) switch
    {
        0 => new JsonString(Strings[random.Next(Strings.Length)]),
        1 => new JsonNumber(RandomInteger(random)),
        2 => random.Next(3) switch { 0 => JsonLiteral.True(), 1 => JsonLiteral.False(), _ => JsonLiteral.Null() },
        3 => new JsonNumber(random.Next(-1000, 1000).ToString(System.Globalization.CultureInfo.InvariantCulture)),
        4 or 5 => RandomObject(random, depth),
        _ => new JsonArray(Enumerable.Range(0, random.Next(4)).Select(_ => RandomValue(random, depth + 1))),
    };

    private static JsonObject RandomObject(Random random, int depth)
    {
        var result = new JsonObject();
        for (var i = random.Next(5); i > 0; i--)
        {
            result.Set(Strings[random.Next(Strings.Length)] + random.Next(3), RandomValue(random, depth + 1));
        }

        return result;
    }

    private static string RandomInteger(Random random) => random.Next(4) switch
    {
        0 => "0",
        1 => random.NextInt64(-999_999_999_999_999, 999_999_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture),
        2 => random.NextInt64(1_000_000_000_000_000, long.MaxValue).ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => random.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    // One edit that may or may not keep the document canonical (or valid).
    private static byte[] Mutate(Random random, byte[] canonical)
    {
        var text = Encoding.UTF8.GetString(canonical);
        var at = random.Next(text.Length + 1);
        var edit = random.Next(8) switch
        {
            0 => text.Insert(at, " "),
            1 => text.Insert(at, "\\"),
            2 => text.Insert(at, "-0"),
            3 => text.Insert(at, ".5"),
            4 => text.Insert(at, "\\u0041"),
            5 => text.Insert(at, ","),
            6 => at < text.Length ? text.Remove(at, 1) : text,
            _ => text.Replace("\"a", "\"c", StringComparison.Ordinal),
        };
        return Encoding.UTF8.GetBytes(edit);
    }
}
