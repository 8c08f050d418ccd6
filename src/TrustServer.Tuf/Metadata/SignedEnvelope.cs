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
/// <remarks>
/// Parsing checks the whole file but builds only the envelope: the signatures and the common fields. The <c>signed</c>
/// tree is built on first use of <see cref="Signed"/>, and <see cref="CanonicalSigned"/> is computed from the bytes,
/// so an upload rejected on its signatures never costs a tree (a large file's tree is many times its size).
/// </remarks>
public sealed class SignedEnvelope
{
    /// <summary>Most signatures a file may carry; Notary clients write one per key of the role.</summary>
    public const int MaxSignatures = 256;

    private readonly int _signedOffset;
    private readonly int _signedLength;
    private readonly JsonObject _header;
    private JsonObject? _signed;
    private byte[]? _canonicalSigned;

    private SignedEnvelope(byte[] bytes, int signedOffset, int signedLength, JsonObject header, IReadOnlyList<TufSignature> signatures)
    {
        Bytes = bytes;
        _signedOffset = signedOffset;
        _signedLength = signedLength;
        _header = header;
        Signatures = signatures;
    }

    /// <summary>The file exactly as received or stored.</summary>
    public byte[] Bytes { get; }

    /// <summary>The parsed <c>signed</c> object (built on first use).</summary>
    public JsonObject Signed => _signed ??= (JsonObject)JsonParser.Parse(SignedSourceBytes.Span);

    /// <summary>The signatures in file order.</summary>
    public IReadOnlyList<TufSignature> Signatures { get; }

    /// <summary>The exact bytes of the <c>signed</c> value inside <see cref="Bytes"/>.</summary>
    public ReadOnlyMemory<byte> SignedSourceBytes => Bytes.AsMemory(_signedOffset, _signedLength);

    /// <summary>
    /// The canonical form of <c>signed</c>: what signatures cover (spec tuf-metadata.md §8.1). Throws
    /// <see cref="TufFormatException"/> when the body has no canonical form (e.g. a fractional number).
    /// </summary>
    public byte[] CanonicalSigned => _canonicalSigned ??= _signed is { } signed ? CanonicalJson.Encode(signed) : CanonicalJson.Canonicalize(SignedSourceBytes.Span);

    /// <summary>The body's <c>_type</c> (empty when absent).</summary>
    public string Type => JsonRead.String(_header, "_type", "signed");

    /// <summary>The body's <c>version</c> (0 when absent).</summary>
    public long Version => JsonRead.Int64(_header, "version", "signed");

    /// <summary>The body's <c>expires</c> (Go's zero time when absent).</summary>
    public TufExpiry Expires => ReadExpiry(_header, "signed");

    /// <summary>
    /// Parses a file. Requires <c>signed</c> to be an object and <c>signatures</c> (if present) to be an array
    /// of at most <see cref="MaxSignatures"/> <c>{"keyid","method","sig"}</c> with base64 <c>sig</c>; also checks that
    /// the common fields <c>_type</c>, <c>version</c> and <c>expires</c> have the right types, as Notary's upload
    /// pre-parse does. The whole file must be valid JSON.
    /// </summary>
    public static SignedEnvelope Parse(byte[] bytes)
    {
        var outline = JsonParser.Outline(bytes);
        if (outline.Kind != JsonValueKind.Object)
        {
            throw new TufFormatException("metadata must be an object, not an array");
        }

        // Duplicate keys: the last one wins, as everywhere else (Go decoder).
        var signedEntry = outline.Children.LastOrDefault(c => c.Key == "signed");
        if (signedEntry.Key is null)
        {
            throw new TufFormatException("metadata has no \"signed\" member");
        }

        var signedSpan = bytes.AsSpan(signedEntry.Offset, signedEntry.Length);
        var signedOutline = signedEntry.Kind == JsonValueKind.Object
            ? JsonParser.Outline(signedSpan)
            : throw new TufFormatException($"signed must be an object, not {JsonValue.Describe(signedEntry.Kind)}");
        var header = new JsonObject();
        foreach (var field in signedOutline.Children.Where(c => c.Key is "_type" or "version" or "expires"))
        {
            header.Set(field.Key!, JsonParser.Parse(signedSpan.Slice(field.Offset, field.Length)));
        }

        var signatures = new List<TufSignature>();
        var signaturesEntry = outline.Children.LastOrDefault(c => c.Key == "signatures");
        if (signaturesEntry.Key is not null && signaturesEntry.Kind != JsonValueKind.Null)
        {
            var signaturesSpan = bytes.AsSpan(signaturesEntry.Offset, signaturesEntry.Length);
            if (signaturesEntry.Kind != JsonValueKind.Array)
            {
                throw new TufFormatException($"metadata.signatures must be an array, not {JsonValue.Describe(signaturesEntry.Kind)}");
            }

            var entries = JsonParser.Outline(signaturesSpan).Children;
            if (entries.Count > MaxSignatures)
            {
                throw new TufFormatException($"metadata carries {entries.Count} signatures, more than {MaxSignatures}");
            }

            for (var i = 0; i < entries.Count; i++)
            {
                var context = $"signatures[{i}]";
                var entry = JsonRead.Object(JsonParser.Parse(signaturesSpan.Slice(entries[i].Offset, entries[i].Length)), context);
                signatures.Add(new TufSignature(
                    JsonRead.String(entry, "keyid", context),
                    JsonRead.String(entry, "method", context).ToLowerInvariant(),
                    JsonRead.Base64(entry, "sig", context)));
            }
        }

        var envelope = new SignedEnvelope(bytes, signedEntry.Offset, signedEntry.Length, header, signatures);
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
