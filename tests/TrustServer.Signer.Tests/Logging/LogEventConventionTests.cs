using TrustServer.Data;
using TrustServer.Signing;
using TrustServer.Testing;
using TrustServer.Tuf;

namespace TrustServer.Signer.Tests.Logging;

/// <summary>The logging conventions (<see cref="LogEventConventions"/>) over the assemblies of the signer process.</summary>
public sealed class LogEventConventionTests
{
    [Fact]
    public void SignerProcessEventsHaveUniqueIdsAndPascalCaseProperties() =>
        LogEventConventions.AssertFollowed(typeof(SignerHost), typeof(ISigningService), typeof(IMetadataStore), typeof(TufFormatException));
}
