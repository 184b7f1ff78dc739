// A JMX client for the jvm jmx test: connects to the URL given, reads the
// Runtime MBean's Uptime and VM name, prints "UPTIME <ms> <vm name>".
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

public final class JmxUptime {
  public static void main(String[] args) throws Exception {
    JMXServiceURL url = new JMXServiceURL(args[0]);
    try (JMXConnector c = JMXConnectorFactory.connect(url)) {
      MBeanServerConnection mbs = c.getMBeanServerConnection();
      ObjectName rt = new ObjectName("java.lang:type=Runtime");
      Object uptime = mbs.getAttribute(rt, "Uptime");
      Object name = mbs.getAttribute(rt, "VmName");
      System.out.println("UPTIME " + uptime + " " + name);
    }
  }
}
