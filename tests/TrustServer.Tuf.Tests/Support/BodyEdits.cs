using TrustServer.Tuf.Json;
using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Tuf.Tests.Support;

/// <summary>Edits of hand-built metadata bodies (role entries, keys, members) for rule-by-rule tests.</summary>
internal static class BodyEdits
{
    /// <summary>The member <paramref name="key"/> as an object.</summary>
    public static JsonObject Object(this JsonObject body, string key) => Assert.IsType<JsonObject>(body[key]);

    /// <summary>A shallow copy without <paramref name="key"/> (JsonObject has no Remove).</summary>
    public static JsonObject Without(this JsonObject body, string key)
    {
        var copy = new JsonObject();
        foreach (var (name, value) in body.Members)
        {
            if (name != key)
            {
                copy.Set(name, value);
            }
        }

        return copy;
    }

    /// <summary>Adds the keys to a root body's <c>keys</c> map.</summary>
    public static JsonObject WithKeys(this JsonObject rootBody, params IMetadataSigner[] keys)
    {
        foreach (var key in keys)
        {
            rootBody.Object("keys").Set(key.PublicKey.Id, key.PublicKey.ToJson());
        }

        return rootBody;
    }

    /// <summary>Replaces a role of a root body by these keys (added to <c>keys</c>) and threshold.</summary>
    public static JsonObject WithRole(this JsonObject rootBody, string role, long threshold, params IMetadataSigner[] keys)
    {
        rootBody.WithKeys(keys);
        rootBody.Object("roles").Set(role, TestRepository.RoleEntry(keys, threshold));
        return rootBody;
    }

    /// <summary>Sets a member and returns the body.</summary>
    public static JsonObject With(this JsonObject body, string key, JsonValue value) => body.Set(key, value);

    /// <summary>Sets <c>expires</c> verbatim.</summary>
    public static JsonObject Expiring(this JsonObject body, string expires) => body.Set("expires", new JsonString(expires));
}

/// <summary>Signs with another signer's private key but presents a different public key (and key ID).</summary>
internal sealed class RekeyedSigner(IMetadataSigner inner, TufPublicKey publicKey) : IMetadataSigner
{
    public TufPublicKey PublicKey => publicKey;

    public TufSignature Sign(byte[] canonical) => inner.Sign(canonical) with { KeyId = publicKey.Id };
}
