using System.Globalization;

namespace TrustServer.Tuf.Json;

/// <summary>The kinds of value in the generic JSON tree.</summary>
public enum JsonValueKind
{
    /// <summary>An object.</summary>
    Object,
    /// <summary>An array.</summary>
    Array,
    /// <summary>A string.</summary>
    String,
    /// <summary>A number, kept as its literal text.</summary>
    Number,
    /// <summary><c>true</c> or <c>false</c>.</summary>
    Boolean,
    /// <summary><c>null</c>.</summary>
    Null,
}

/// <summary>
/// A node of the generic JSON tree that Notary decodes metadata into before canonical re-encoding
/// (spec tuf-metadata.md §8.1). Nodes parsed from bytes remember where they came from, so callers can get at
/// the exact original bytes of any value.
/// </summary>
public abstract class JsonValue
{
    /// <summary>The kind of this value.</summary>
    public abstract JsonValueKind Kind { get; }

    /// <summary>Offset of this value in the parsed input, or -1 for values built in code.</summary>
    public int SourceOffset { get; internal set; } = -1;

    /// <summary>Length in bytes of this value in the parsed input, or 0 for values built in code.</summary>
    public int SourceLength { get; internal set; }

    /// <summary>Describes the kind for error messages ("an object", "a string", ...).</summary>
    internal string Describe() => Describe(Kind);

    /// <summary>Describes a kind for error messages.</summary>
    internal static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.Boolean => "a boolean",
        _ => "null",
    };
}

/// <summary>A JSON object. Keys are unique: on duplicates in the input the last value wins (Go decoder).</summary>
public sealed class JsonObject : JsonValue
{
    private readonly List<KeyValuePair<string, JsonValue>> _members = [];
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public override JsonValueKind Kind => JsonValueKind.Object;

    /// <summary>The members in order of first appearance.</summary>
    public IReadOnlyList<KeyValuePair<string, JsonValue>> Members => _members;

    /// <summary>Number of distinct members.</summary>
    public int Count => _members.Count;

    /// <summary>Sets a member, replacing an existing value with the same key in place.</summary>
    public JsonObject Set(string key, JsonValue value)
    {
        if (_index.TryGetValue(key, out var position))
        {
            _members[position] = new(key, value);
        }
        else
        {
            _index[key] = _members.Count;
            _members.Add(new(key, value));
        }

        return this;
    }

    /// <summary>Gets a member's value, if present.</summary>
    public bool TryGetValue(string key, out JsonValue value)
    {
        if (_index.TryGetValue(key, out var position))
        {
            value = _members[position].Value;
            return true;
        }

        value = null!;
        return false;
    }

    /// <summary>Gets a member's value or null when absent.</summary>
    public JsonValue? this[string key] => TryGetValue(key, out var value) ? value : null;
}

/// <summary>A JSON array.</summary>
public sealed class JsonArray : JsonValue
{
    private readonly List<JsonValue> _items;

    /// <summary>Creates an array of the given items.</summary>
    public JsonArray(IEnumerable<JsonValue> items) => _items = [.. items];

    /// <summary>Creates an empty array.</summary>
    public JsonArray() => _items = [];

    /// <inheritdoc />
    public override JsonValueKind Kind => JsonValueKind.Array;

    /// <summary>The elements in order.</summary>
    public IReadOnlyList<JsonValue> Items => _items;

    internal void Add(JsonValue value) => _items.Add(value);
}

/// <summary>A JSON string (decoded: escapes resolved, invalid UTF-8 replaced by U+FFFD).</summary>
public sealed class JsonString(string value) : JsonValue
{
    /// <inheritdoc />
    public override JsonValueKind Kind => JsonValueKind.String;

    /// <summary>The decoded text.</summary>
    public string Value { get; } = value;
}

/// <summary>A JSON number, kept as its literal so integers never pass through a double unless asked to.</summary>
public sealed class JsonNumber : JsonValue
{
    /// <summary>Creates a number from a JSON number literal (already validated by the parser).</summary>
    internal JsonNumber(string literal) => Literal = literal;

    /// <summary>Creates an integer number.</summary>
    public JsonNumber(long value) => Literal = value.ToString(CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public override JsonValueKind Kind => JsonValueKind.Number;

    /// <summary>The literal exactly as written in the input.</summary>
    public string Literal { get; }

    /// <summary>
    /// Reads the literal as a 64-bit integer the way Go decodes a JSON number into an <c>int</c> field:
    /// only plain integer literals (no fraction, no exponent) that fit.
    /// </summary>
    public bool TryGetInt64(out long value) =>
        long.TryParse(Literal, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);

    /// <summary>
    /// Reads the literal as an IEEE double, the way Go decodes a number into <c>interface{}</c>.
    /// Returns false when the value is out of the double range (Go reports an error there).
    /// </summary>
    public bool TryGetDouble(out double value) =>
        double.TryParse(Literal, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);
}

/// <summary><c>true</c>, <c>false</c> or <c>null</c>.</summary>
public sealed class JsonLiteral : JsonValue
{
    private readonly JsonValueKind _kind;

    private JsonLiteral(JsonValueKind kind, bool value)
    {
        _kind = kind;
        BooleanValue = value;
    }

    /// <summary>A new <c>true</c> node.</summary>
    public static JsonLiteral True() => new(JsonValueKind.Boolean, true);

    /// <summary>A new <c>false</c> node.</summary>
    public static JsonLiteral False() => new(JsonValueKind.Boolean, false);

    /// <summary>A new <c>null</c> node.</summary>
    public static JsonLiteral Null() => new(JsonValueKind.Null, false);

    /// <summary>A boolean node.</summary>
    public static JsonLiteral Boolean(bool value) => value ? True() : False();

    /// <inheritdoc />
    public override JsonValueKind Kind => _kind;

    /// <summary>The boolean value (false for null).</summary>
    public bool BooleanValue { get; }
}

/// <summary>A direct child of an outlined object or array: its key (null in arrays), kind, and place in the input.</summary>
public readonly record struct JsonOutlineEntry(string? Key, JsonValueKind Kind, int Offset, int Length);

/// <summary>An object or array checked in full but not built: its kind and its direct children (<see cref="JsonParser.Outline"/>).</summary>
public sealed record JsonOutline(JsonValueKind Kind, IReadOnlyList<JsonOutlineEntry> Children);
