using Cluster.Testing;

namespace Cluster.Devices.Tests;

[CollectionDefinition(Name)]
public sealed class SharedSilo : ICollectionFixture<SiloFixture>
{
    public const string Name = "silo";
}
