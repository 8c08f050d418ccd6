using TrustServer.Data;
using TrustServer.Signing;
using TrustServer.Testing;
using TrustServer.Tuf;

namespace TrustServer.Server.Tests.Logging;

/// <summary>The logging conventions (<see cref="LogEventConventions"/>) over the assemblies of the server process.</summary>
public sealed class LogEventConventionTests
{
    [Fact]
    public void ServerProcessEventsHaveUniqueIdsAndPascalCaseProperties() =>
        LogEventConventions.AssertFollowed(typeof(TrustServerHost), typeof(IMetadataStore), typeof(ISigningService), typeof(TufFormatException));
}
