using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Tuf.Validation;

/// <summary>
/// Notary's <c>VerifySignatures</c> (spec validation.md §2): counts distinct keys of the role with a valid
/// signature over the canonical body and compares with the threshold.
/// </summary>
public static class ThresholdVerifier
{
    /// <summary>Returns null when the threshold is met, otherwise Notary's error message.</summary>
    public static string? Verify(SignedEnvelope file, BaseRole role)
    {
        if (file.Signatures.Count == 0)
        {
            return "tuf: data has no signatures";
        }

        if (role.Threshold < 1)
        {
            return "valid signatures did not meet threshold";
        }

        // Cheap checks before canonicalizing the body (a large body costs its size once more): Go's hard error for a
        // key whose ID does not match its content, then whether enough distinct role keys signed at all.
        var candidates = new HashSet<string>(StringComparer.Ordinal);
        foreach (var signature in file.Signatures)
        {
            if (role.Keys.TryGetValue(signature.KeyId, out var key))
            {
                if (key.Id != signature.KeyId)
                {
                    return "key ID is not valid for key content";
                }

                candidates.Add(signature.KeyId);
            }
        }

        if (candidates.Count < role.Threshold)
        {
            return ThresholdNotMet(role);
        }

        byte[] message;
        try
        {
            message = file.CanonicalSigned;
        }
        catch (TufFormatException e)
        {
            return e.Message;
        }

        var valid = new HashSet<string>(StringComparer.Ordinal);
        foreach (var signature in file.Signatures)
        {
            // Signatures by keys outside the role are ignored; a key that already verified needs no second look.
            if (role.Keys.TryGetValue(signature.KeyId, out var key) && !valid.Contains(signature.KeyId)
                && SignatureVerifier.Verify(key, signature.Method, message, signature.Value))
            {
                valid.Add(signature.KeyId);
            }
        }

        return valid.Count < role.Threshold ? ThresholdNotMet(role) : null;
    }

    private static string ThresholdNotMet(BaseRole role) => $"valid signatures did not meet threshold for {role.Name}";
}
