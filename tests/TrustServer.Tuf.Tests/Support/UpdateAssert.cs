using TrustServer.Tuf.Validation;

namespace TrustServer.Tuf.Tests.Support;

/// <summary>Assertions on <see cref="UpdateResult"/>s: the exact rejection, or the exact files to store.</summary>
internal static class UpdateAssert
{
    /// <summary>The update was rejected with exactly this kind, message and (for BadHierarchy) missing role.</summary>
    public static void Rejected(UpdateResult result, ValidationErrorKind kind, string message, string? missing = null)
    {
        Assert.False(result.IsAccepted, $"expected a {kind} rejection, but the update was accepted");
        Assert.Empty(result.Files);
        var error = result.Error!;
        Assert.Equal(kind, error.Kind);
        Assert.Equal(message, error.Message);
        Assert.Equal(missing, error.Missing);
    }

    /// <summary>The update was rejected with an error that has no Notary detail (400 INVALID_UPDATE without detail).</summary>
    public static void RejectedWithoutDetail(UpdateResult result)
    {
        Assert.False(result.IsAccepted, "expected an InvalidUpdate rejection, but the update was accepted");
        Assert.Empty(result.Files);
        Assert.Equal(ValidationErrorKind.InvalidUpdate, result.Error!.Kind);
        Assert.Null(result.Error.NotaryName);
        Assert.Null(result.Error.Missing);
    }

    /// <summary>The update was accepted and stores exactly these roles, in this order.</summary>
    public static void Accepted(UpdateResult result, params string[] roles)
    {
        Assert.True(result.IsAccepted, $"expected acceptance, got {result.Error?.Kind}: {result.Error?.Message}");
        Assert.Null(result.Error);
        Assert.Equal(roles, result.Files.Select(f => f.Role));
    }

    /// <summary>The single file of a role among the files to store.</summary>
    public static MetadataFile File(UpdateResult result, string role) => Assert.Single(result.Files, f => f.Role == role);
}
