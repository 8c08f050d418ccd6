namespace TrustServer.Tuf.Json;

/// <summary>
/// Typed access to members of the generic tree with Go <c>encoding/json</c> semantics: a missing member or
/// <c>null</c> gives the zero value, a member of the wrong JSON type is an error.
/// </summary>
internal static class JsonRead
{
    public static JsonObject Object(JsonValue value, string context) =>
        value as JsonObject ?? throw new TufFormatException($"{context} must be an object, not {value.Describe()}");

    public static JsonObject? OptionalObject(JsonObject parent, string key, string context)
    {
        var value = parent[key];
        return value is null or JsonLiteral { Kind: JsonValueKind.Null } ? null : Object(value, $"{context}.{key}");
    }

    public static JsonArray? OptionalArray(JsonObject parent, string key, string context)
    {
        var value = parent[key];
        return value switch
        {
            null or JsonLiteral { Kind: JsonValueKind.Null } => null,
            JsonArray array => array,
            _ => throw new TufFormatException($"{context}.{key} must be an array, not {value.Describe()}"),
        };
    }

    public static string String(JsonObject parent, string key, string context)
    {
        var value = parent[key];
        return value switch
        {
            null or JsonLiteral { Kind: JsonValueKind.Null } => string.Empty,
            JsonString s => s.Value,
            _ => throw new TufFormatException($"{context}.{key} must be a string, not {value.Describe()}"),
        };
    }

    public static string StringValue(JsonValue value, string context) =>
        value is JsonString s ? s.Value : throw new TufFormatException($"{context} must be a string, not {value.Describe()}");

    public static long Int64(JsonObject parent, string key, string context)
    {
        var value = parent[key];
        switch (value)
        {
            case null or JsonLiteral { Kind: JsonValueKind.Null }:
                return 0;
            case JsonNumber number when number.TryGetInt64(out var result):
                return result;
            case JsonNumber number:
                throw new TufFormatException($"{context}.{key} must be a 64-bit integer, not {number.Literal}");
            default:
                throw new TufFormatException($"{context}.{key} must be a number, not {value.Describe()}");
        }
    }

    public static bool Boolean(JsonObject parent, string key, string context)
    {
        var value = parent[key];
        return value switch
        {
            null or JsonLiteral { Kind: JsonValueKind.Null } => false,
            JsonLiteral { Kind: JsonValueKind.Boolean } literal => literal.BooleanValue,
            _ => throw new TufFormatException($"{context}.{key} must be a boolean, not {value.Describe()}"),
        };
    }

    /// <summary>Decodes a Go <c>[]byte</c> field: standard base64 with padding; null or missing is empty.</summary>
    public static byte[] Base64(JsonObject parent, string key, string context)
    {
        var value = parent[key];
        return value switch
        {
            null or JsonLiteral { Kind: JsonValueKind.Null } => [],
            JsonString s => DecodeBase64(s.Value, $"{context}.{key}"),
            _ => throw new TufFormatException($"{context}.{key} must be a base64 string, not {value.Describe()}"),
        };
    }

    public static byte[] DecodeBase64(string text, string context)
    {
        var buffer = new byte[(text.Length * 3 / 4) + 3];
        if (text.Length % 4 != 0 || !Convert.TryFromBase64String(text, buffer, out var written))
        {
            throw new TufFormatException($"{context} is not valid base64");
        }

        return buffer.AsSpan(0, written).ToArray();
    }

    public static List<string> StringArray(JsonObject parent, string key, string context)
    {
        var array = OptionalArray(parent, key, context);
        var result = new List<string>();
        if (array is null)
        {
            return result;
        }

        for (var i = 0; i < array.Items.Count; i++)
        {
            result.Add(StringValue(array.Items[i], $"{context}.{key}[{i}]"));
        }

        return result;
    }
}
