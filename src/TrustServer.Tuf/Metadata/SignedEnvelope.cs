using TrustServer.Tuf.Json;

namespace TrustServer.Tuf.Metadata;

/// <summary>One entry of <c>signatures</c>: key ID, method (lower-cased on parse, as Notary does) and raw bytes.</summary>
public sealed record TufSignature(string KeyId, string Method, byte[] Value)
{
    /// <summary>The signature object in the field order Notary writes: keyid, method, sig.</summary>
    internal string ToJsonText() =>
        "{\"keyid\":\"" + KeyId + "\",\"method\":\"" + Method + "\",\"sig\":\"" + Convert.ToBase64String(Value) + "\"}";
}

/// <summary>
/// A metadata file: <c>{"signed":{…},"signatures":[…]}</c>. Keeps the original bytes (which are what gets stored,
/// served and hashed) next to the parsed <c>signed</c> tree (which is what gets canonicalized and verified).
/// </summary>
public sealed class SignedEnvelope
{
    private byte[]? _canonicalSigned;

    private SignedEnvelope(byte[] bytes, JsonObject signed, IReadOnlyList<TufSignature> signatures)
    {
        Bytes = bytes;
        Signed = signed;
        Signatures = signatures;
    }

    /// <summary>The file exactly as received or stored.</summary>
    public byte[] Bytes { get; }

    /// <summary>The parsed <c>signed</c> object.</summary>
    public JsonObject Signed { get; }

    /// <summary>The signatures in file order.</summary>
    public IReadOnlyList<TufSignature> Signatures { get; }

    /// <summary>The exact bytes of the <c>signed</c> value inside <see cref="Bytes"/>.</summary>
    public ReadOnlyMemory<byte> SignedSourceBytes => Bytes.AsMemory(Signed.SourceOffset, Signed.SourceLength);

    /// <summary>
    /// The canonical form of <c>signed</c>: what signatures cover (spec tuf-metadata.md §8.1). Throws
    /// <see cref="TufFormatException"/> when the body has no canonical form (e.g. a fractional number).
    /// </summary>
    public byte[] CanonicalSigned => _canonicalSigned ??= CanonicalJson.Encode(Signed);

    /// <summary>The body's <c>_type</c> (empty when absent).</summary>
    public string Type => JsonRead.String(Signed, "_type", "signed");

    /// <summary>The body's <c>version</c> (0 when absent).</summary>
    public long Version => JsonRead.Int64(Signed, "version", "signed");

    /// <summary>The body's <c>expires</c> (Go's zero time when absent).</summary>
    public TufExpiry Expires => ReadExpiry(Signed, "signed");

    /// <summary>
    /// Parses a file. Requires <c>signed</c> to be an object and <c>signatures</c> (if present) to be an array
    /// of <c>{"keyid","method","sig"}</c> with base64 <c>sig</c>; also checks that the common fields
    /// <c>_type</c>, <c>version</c> and <c>expires</c> have the right types, as Notary's upload pre-parse does.
    /// </summary>
    public static SignedEnvelope Parse(byte[] bytes)
    {
        var root = JsonRead.Object(JsonParser.Parse(bytes), "metadata");
        var signedValue = root["signed"] ?? throw new TufFormatException("metadata has no \"signed\" member");
        var signed = JsonRead.Object(signedValue, "signed");
        var signatures = new List<TufSignature>();
        var array = JsonRead.OptionalArray(root, "signatures", "metadata");
        if (array is not null)
        {
            for (var i = 0; i < array.Items.Count; i++)
            {
                var context = $"signatures[{i}]";
                var entry = JsonRead.Object(array.Items[i], context);
                signatures.Add(new TufSignature(
                    JsonRead.String(entry, "keyid", context),
                    JsonRead.String(entry, "method", context).ToLowerInvariant(),
                    JsonRead.Base64(entry, "sig", context)));
            }
        }

        var envelope = new SignedEnvelope(bytes, signed, signatures);
        _ = envelope.Type;
        _ = envelope.Version;
        _ = envelope.Expires;
        return envelope;
    }

    /// <summary>
    /// Assembles a file the way Notary writes one: <c>{"signed":</c> canonical body <c>,"signatures":[…]}</c>,
    /// no whitespace (spec tuf-metadata.md §1, §16).
    /// </summary>
    public static byte[] Assemble(ReadOnlySpan<byte> canonicalBody, IEnumerable<TufSignature> signatures)
    {
        var prefix = "{\"signed\":"u8;
        var middle = System.Text.Encoding.UTF8.GetBytes(",\"signatures\":[" + string.Join(',', signatures.Select(s => s.ToJsonText())) + "]}");
        var result = new byte[prefix.Length + canonicalBody.Length + middle.Length];
        prefix.CopyTo(result);
        canonicalBody.CopyTo(result.AsSpan(prefix.Length));
        middle.CopyTo(result.AsSpan(prefix.Length + canonicalBody.Length));
        return result;
    }

    internal static TufExpiry ReadExpiry(JsonObject body, string context)
    {
        var value = body["expires"];
        return value switch
        {
            null or JsonLiteral { Kind: JsonValueKind.Null } => TufExpiry.Missing,
            JsonString s => TufExpiry.Parse(s.Value),
            _ => throw new TufFormatException($"{context}.expires must be a string, not {value.Describe()}"),
        };
    }
}
