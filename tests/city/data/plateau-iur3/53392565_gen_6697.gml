<?xml version="1.0" encoding="UTF-8"?>
<core:CityModel xmlns:grp="http://www.opengis.net/citygml/cityobjectgroup/2.0" xmlns:core="http://www.opengis.net/citygml/2.0" xmlns:pbase="http://www.opengis.net/citygml/profiles/base/2.0" xmlns:smil20lang="http://www.w3.org/2001/SMIL20/Language" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:smil20="http://www.w3.org/2001/SMIL20/" xmlns:bldg="http://www.opengis.net/citygml/building/2.0" xmlns:uro="https://www.geospatial.jp/iur/uro/3.0" xmlns:xAL="urn:oasis:names:tc:ciq:xsdschema:xAL:2.0" xmlns:luse="http://www.opengis.net/citygml/landuse/2.0" xmlns:gen="http://www.opengis.net/citygml/generics/2.0" xmlns:dem="http://www.opengis.net/citygml/relief/2.0" xmlns:app="http://www.opengis.net/citygml/appearance/2.0" xmlns:tex="http://www.opengis.net/citygml/texturedsurface/2.0" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:tun="http://www.opengis.net/citygml/tunnel/2.0" xmlns:sch="http://www.ascc.net/xml/schematron" xmlns:veg="http://www.opengis.net/citygml/vegetation/2.0" xmlns:frn="http://www.opengis.net/citygml/cityfurniture/2.0" xmlns:gml="http://www.opengis.net/gml" xmlns:tran="http://www.opengis.net/citygml/transportation/2.0" xmlns:wtr="http://www.opengis.net/citygml/waterbody/2.0" xmlns:brid="http://www.opengis.net/citygml/bridge/2.0" xsi:schemaLocation="https://www.geospatial.jp/iur/uro/3.0 ../../schemas/iur/uro/3.0/urbanObject.xsd  http://www.opengis.net/citygml/2.0 http://schemas.opengis.net/citygml/2.0/cityGMLBase.xsd http://www.opengis.net/citygml/landuse/2.0 http://schemas.opengis.net/citygml/landuse/2.0/landUse.xsd  http://www.opengis.net/citygml/building/2.0 http://schemas.opengis.net/citygml/building/2.0/building.xsd  http://www.opengis.net/citygml/transportation/2.0 http://schemas.opengis.net/citygml/transportation/2.0/transportation.xsd  http://www.opengis.net/citygml/generics/2.0 http://schemas.opengis.net/citygml/generics/2.0/generics.xsd  http://www.opengis.net/citygml/relief/2.0 http://schemas.opengis.net/citygml/relief/2.0/relief.xsd  http://www.opengis.net/citygml/cityobjectgroup/2.0 http://schemas.opengis.net/citygml/cityobjectgroup/2.0/cityObjectGroup.xsd  http://www.opengis.net/gml http://schemas.opengis.net/gml/3.1.1/base/gml.xsd http://www.opengis.net/citygml/appearance/2.0 http://schemas.opengis.net/citygml/appearance/2.0/appearance.xsd">
	<gml:boundedBy>
		<gml:Envelope srsName="http://www.opengis.net/def/crs/EPSG/0/6697" srsDimension="3">
			<gml:lowerCorner>35.553982292378045 139.69762157412987 0</gml:lowerCorner>
			<gml:upperCorner>35.5543076759143 139.6980068262133 30</gml:upperCorner>
		</gml:Envelope>
	</gml:boundedBy>
	<core:cityObjectMember>
		<gen:GenericCityObject gml:id="gen_540b6126-0753-492e-9061-f43bafe9312e">
			<gen:lod1Geometry>
				<gml:MultiSurface gml:id="surface_76d1e1fe-044e-4500-8cdd-26da97a6943c">
					<gml:surfaceMember>
						<gml:Polygon>
							<gml:exterior>
								<gml:LinearRing>
									<gml:posList>35.554186961119626 139.69786958758272 12.603 35.554307521810074 139.6978693847622 12.603 35.5543076759143 139.6980066235983 12.603 35.55418711522317 139.6980068262133 12.603 35.554186961119626 139.69786958758272 12.603</gml:posList>
								</gml:LinearRing>
							</gml:exterior>
						</gml:Polygon>
					</gml:surfaceMember>
					<gml:surfaceMember>
						<gml:Polygon>
							<gml:exterior>
								<gml:LinearRing>
									<gml:posList>35.554186961119626 139.69786958758272 30 35.55418711522317 139.6980068262133 30 35.5543076759143 139.6980066235983 30 35.554307521810074 139.6978693847622 30 35.554186961119626 139.69786958758272 30</gml:posList>
								</gml:LinearRing>
							</gml:exterior>
						</gml:Polygon>
					</gml:surfaceMember>
					<gml:surfaceMember>
						<gml:Polygon>
							<gml:exterior>
								<gml:LinearRing>
									<gml:posList>35.554186961119626 139.69786958758272 12.603 35.55418711522317 139.6980068262133 12.603 35.55418711522317 139.6980068262133 30 35.554186961119626 139.69786958758272 30 35.554186961119626 139.69786958758272 12.603</gml:posList>
								</gml:LinearRing>
							</gml:exterior>
						</gml:Polygon>
					</gml:surfaceMember>
					<gml:surfaceMember>
						<gml:Polygon>
							<gml:exterior>
								<gml:LinearRing>
									<gml:posList>35.55418711522317 139.6980068262133 12.603 35.5543076759143 139.6980066235983 12.603 35.5543076759143 139.6980066235983 30 35.55418711522317 139.6980068262133 30 35.55418711522317 139.6980068262133 12.603</gml:posList>
								</gml:LinearRing>
							</gml:exterior>
						</gml:Polygon>
					</gml:surfaceMember>
					<gml:surfaceMember>
						<gml:Polygon>
							<gml:exterior>
								<gml:LinearRing>
									<gml:posList>35.5543076759143 139.6980066235983 12.603 35.554307521810074 139.6978693847622 12.603 35.554307521810074 139.6978693847622 30 35.5543076759143 139.6980066235983 30 35.5543076759143 139.6980066235983 12.603</gml:posList>
								</gml:LinearRing>
							</gml:exterior>
						</gml:Polygon>
					</gml:surfaceMember>
					<gml:surfaceMember>
						<gml:Polygon>
							<gml:exterior>
								<gml:LinearRing>
									<gml:posList>35.554307521810074 139.6978693847622 12.603 35.554186961119626 139.69786958758272 12.603 35.554186961119626 139.69786958758272 30 35.554307521810074 139.6978693847622 30 35.554307521810074 139.6978693847622 12.603</gml:posList>
								</gml:LinearRing>
							</gml:exterior>
						</gml:Polygon>
					</gml:surfaceMember>
				</gml:MultiSurface>
			</gen:lod1Geometry>
			<gen:lod2Geometry>
				<gml:MultiSurface gml:id="surface_08ca77ba-ab03-4996-a970-c2b75badd8e9">
					<gml:surfaceMember>
						<gml:Polygon>
							<gml:exterior>
								<gml:LinearRing>
									<gml:posList>35.554186961119626 139.69786958758272 12.603 35.554307521810074 139.6978693847622 12.603 35.5543076759143 139.6980066235983 12.603 35.55418711522317 139.6980068262133 12.603 35.554186961119626 139.69786958758272 12.603</gml:posList>
								</gml:LinearRing>
							</gml:exterior>
						</gml:Polygon>
					</gml:surfaceMember>
					<gml:surfaceMember>
						<gml:Polygon>
							<gml:exterior>
								<gml:LinearRing>
									<gml:posList>35.554186961119626 139.69786958758272 30 35.55418711522317 139.6980068262133 30 35.5543076759143 139.6980066235983 30 35.554307521810074 139.6978693847622 30 35.554186961119626 139.69786958758272 30</gml:posList>
								</gml:LinearRing>
							</gml:exterior>
						</gml:Polygon>
					</gml:surfaceMember>
					<gml:surfaceMember>
						<gml:Polygon>
							<gml:exterior>
								<gml:LinearRing>
									<gml:posList>35.554186961119626 139.69786958758272 12.603 35.55418711522317 139.6980068262133 12.603 35.55418711522317 139.6980068262133 30 35.554186961119626 139.69786958758272 30 35.554186961119626 139.69786958758272 12.603</gml:posList>
								</gml:LinearRing>
							</gml:exterior>
						</gml:Polygon>
					</gml:surfaceMember>
					<gml:surfaceMember>
						<gml:Polygon>
							<gml:exterior>
								<gml:LinearRing>
									<gml:posList>35.55418711522317 139.6980068262133 12.603 35.5543076759143 139.6980066235983 12.603 35.5543076759143 139.6980066235983 30 35.55418711522317 139.6980068262133 30 35.55418711522317 139.6980068262133 12.603</gml:posList>
								</gml:LinearRing>
							</gml:exterior>
						</gml:Polygon>
					</gml:surfaceMember>
					<gml:surfaceMember>
						<gml:Polygon>
							<gml:exterior>
								<gml:LinearRing>
									<gml:posList>35.5543076759143 139.6980066235983 12.603 35.554307521810074 139.6978693847622 12.603 35.554307521810074 139.6978693847622 30 35.5543076759143 139.6980066235983 30 35.5543076759143 139.6980066235983 12.603</gml:posList>
								</gml:LinearRing>
							</gml:exterior>
						</gml:Polygon>
					</gml:surfaceMember>
					<gml:surfaceMember>
						<gml:Polygon>
							<gml:exterior>
								<gml:LinearRing>
									<gml:posList>35.554307521810074 139.6978693847622 12.603 35.554186961119626 139.69786958758272 12.603 35.554186961119626 139.69786958758272 30 35.554307521810074 139.6978693847622 30 35.554307521810074 139.6978693847622 12.603</gml:posList>
								</gml:LinearRing>
							</gml:exterior>
						</gml:Polygon>
					</gml:surfaceMember>
				</gml:MultiSurface>
			</gen:lod2Geometry>
			<gen:lod3Geometry>
				<gml:MultiSurface gml:id="surface_71d948e3-e209-49bc-b8a1-244ba851cd30">
					<gml:surfaceMember>
						<gml:Polygon>
							<gml:exterior>
								<gml:LinearRing>
									<gml:posList>35.554186961119626 139.69786958758272 12.603 35.554307521810074 139.6978693847622 12.603 35.5543076759143 139.6980066235983 12.603 35.55418711522317 139.6980068262133 12.603 35.554186961119626 139.69786958758272 12.603</gml:posList>
								</gml:LinearRing>
							</gml:exterior>
						</gml:Polygon>
					</gml:surfaceMember>
					<gml:surfaceMember>
						<gml:Polygon>
							<gml:exterior>
								<gml:LinearRing>
									<gml:posList>35.554186961119626 139.69786958758272 30 35.55418711522317 139.6980068262133 30 35.5543076759143 139.6980066235983 30 35.554307521810074 139.6978693847622 30 35.554186961119626 139.69786958758272 30</gml:posList>
								</gml:LinearRing>
							</gml:exterior>
						</gml:Polygon>
					</gml:surfaceMember>
					<gml:surfaceMember>
						<gml:Polygon>
							<gml:exterior>
								<gml:LinearRing>
									<gml:posList>35.554186961119626 139.69786958758272 12.603 35.55418711522317 139.6980068262133 12.603 35.55418711522317 139.6980068262133 30 35.554186961119626 139.69786958758272 30 35.554186961119626 139.69786958758272 12.603</gml:posList>
								</gml:LinearRing>
							</gml:exterior>
						</gml:Polygon>
					</gml:surfaceMember>
					<gml:surfaceMember>
						<gml:Polygon>
							<gml:exterior>
								<gml:LinearRing>
									<gml:posList>35.55418711522317 139.6980068262133 12.603 35.5543076759143 139.6980066235983 12.603 35.5543076759143 139.6980066235983 30 35.55418711522317 139.6980068262133 30 35.55418711522317 139.6980068262133 12.603</gml:posList>
								</gml:LinearRing>
							</gml:exterior>
						</gml:Polygon>
					</gml:surfaceMember>
					<gml:surfaceMember>
						<gml:Polygon>
							<gml:exterior>
								<gml:LinearRing>
									<gml:posList>35.5543076759143 139.6980066235983 12.603 35.554307521810074 139.6978693847622 12.603 35.554307521810074 139.6978693847622 30 35.5543076759143 139.6980066235983 30 35.5543076759143 139.6980066235983 12.603</gml:posList>
								</gml:LinearRing>
							</gml:exterior>
						</gml:Polygon>
					</gml:surfaceMember>
					<gml:surfaceMember>
						<gml:Polygon>
							<gml:exterior>
								<gml:LinearRing>
									<gml:posList>35.554307521810074 139.6978693847622 12.603 35.554186961119626 139.69786958758272 12.603 35.554186961119626 139.69786958758272 30 35.554307521810074 139.6978693847622 30 35.554307521810074 139.6978693847622 12.603</gml:posList>
								</gml:LinearRing>
							</gml:exterior>
						</gml:Polygon>
					</gml:surfaceMember>
				</gml:MultiSurface>
			</gen:lod3Geometry>
			<gen:lod4Geometry>
				<gml:MultiSurface gml:id="surface_a41a6d61-b037-4ef1-b764-0e8a4b76691d">
					<gml:surfaceMember>
						<gml:Polygon>
							<gml:exterior>
								<gml:LinearRing>
									<gml:posList>35.554186961119626 139.69786958758272 12.603 35.554307521810074 139.6978693847622 12.603 35.5543076759143 139.6980066235983 12.603 35.55418711522317 139.6980068262133 12.603 35.554186961119626 139.69786958758272 12.603</gml:posList>
								</gml:LinearRing>
							</gml:exterior>
						</gml:Polygon>
					</gml:surfaceMember>
					<gml:surfaceMember>
						<gml:Polygon>
							<gml:exterior>
								<gml:LinearRing>
									<gml:posList>35.554186961119626 139.69786958758272 30 35.55418711522317 139.6980068262133 30 35.5543076759143 139.6980066235983 30 35.554307521810074 139.6978693847622 30 35.554186961119626 139.69786958758272 30</gml:posList>
								</gml:LinearRing>
							</gml:exterior>
						</gml:Polygon>
					</gml:surfaceMember>
					<gml:surfaceMember>
						<gml:Polygon>
							<gml:exterior>
								<gml:LinearRing>
									<gml:posList>35.554186961119626 139.69786958758272 12.603 35.55418711522317 139.6980068262133 12.603 35.55418711522317 139.6980068262133 30 35.554186961119626 139.69786958758272 30 35.554186961119626 139.69786958758272 12.603</gml:posList>
								</gml:LinearRing>
							</gml:exterior>
						</gml:Polygon>
					</gml:surfaceMember>
					<gml:surfaceMember>
						<gml:Polygon>
							<gml:exterior>
								<gml:LinearRing>
									<gml:posList>35.55418711522317 139.6980068262133 12.603 35.5543076759143 139.6980066235983 12.603 35.5543076759143 139.6980066235983 30 35.55418711522317 139.6980068262133 30 35.55418711522317 139.6980068262133 12.603</gml:posList>
								</gml:LinearRing>
							</gml:exterior>
						</gml:Polygon>
					</gml:surfaceMember>
					<gml:surfaceMember>
						<gml:Polygon>
							<gml:exterior>
								<gml:LinearRing>
									<gml:posList>35.5543076759143 139.6980066235983 12.603 35.554307521810074 139.6978693847622 12.603 35.554307521810074 139.6978693847622 30 35.5543076759143 139.6980066235983 30 35.5543076759143 139.6980066235983 12.603</gml:posList>
								</gml:LinearRing>
							</gml:exterior>
						</gml:Polygon>
					</gml:surfaceMember>
					<gml:surfaceMember>
						<gml:Polygon>
							<gml:exterior>
								<gml:LinearRing>
									<gml:posList>35.554307521810074 139.6978693847622 12.603 35.554186961119626 139.69786958758272 12.603 35.554186961119626 139.69786958758272 30 35.554307521810074 139.6978693847622 30 35.554307521810074 139.6978693847622 12.603</gml:posList>
								</gml:LinearRing>
							</gml:exterior>
						</gml:Polygon>
					</gml:surfaceMember>
				</gml:MultiSurface>
			</gen:lod4Geometry>
		</gen:GenericCityObject>
	</core:cityObjectMember>
	<core:cityObjectMember>
		<gen:GenericCityObject gml:id="gen_9568447b-bdbb-4df4-8b02-64ce900239f7">
			<gen:lod0Geometry>
				<gml:Polygon gml:id="polygon_1e306ffb-32a5-4314-9f30-f1ef87f62e11">
					<gml:exterior>
						<gml:LinearRing>
							<gml:posList>35.554006435406365 139.6976492859414 0 35.55400658975998 139.69778652426308 0 35.55412715045363 139.69778632131957 0 35.554126996099335 139.69764908279242 0 35.554006435406365 139.6976492859414 0</gml:posList>
						</gml:LinearRing>
					</gml:exterior>
				</gml:Polygon>
			</gen:lod0Geometry>
		</gen:GenericCityObject>
	</core:cityObjectMember>
	<core:cityObjectMember>
		<gen:GenericCityObject gml:id="gen_263689fa-e02f-4fa1-8d73-e8f94a1c2fc3">
			<gen:lod0Geometry>
				<gml:LineString gml:id="line_76388d2a-d60d-4322-a463-510dd204d704">
					<gml:posList>35.553982292378045 139.69762187891507 0 35.55398252389654 139.69782773633602 0 35.554163364937146 139.69782743201313 0 35.554163133417106 139.69762157412987 0 35.553982292378045 139.69762187891507 0</gml:posList>
				</gml:LineString>
			</gen:lod0Geometry>
		</gen:GenericCityObject>
	</core:cityObjectMember>
	<core:cityObjectMember>
		<gen:GenericCityObject gml:id="gen_f99fd952-55dc-4130-b12b-edf58c606d4d">
			<gen:lod0Geometry>
				<gml:Point gml:id="point_2c5aa6ae-0a3d-4ade-8b2e-d7a5ee0dcd92">
					<gml:pos>35.554066792949655 139.69771780357914 0</gml:pos>
				</gml:Point>
			</gen:lod0Geometry>
			<gen:lod1Geometry>
				<gml:Solid gml:id="solid_7be3e430-1c4e-42f8-8e86-96a642a40e3e">
					<gml:exterior>
						<gml:CompositeSurface>
							<gml:surfaceMember>
								<gml:Polygon>
									<gml:exterior>
										<gml:LinearRing>
											<gml:posList>35.554006435406365 139.6976492859414 12.603 35.554126996099335 139.69764908279242 12.603 35.55412715045363 139.69778632131957 12.603 35.55400658975998 139.69778652426308 12.603 35.554006435406365 139.6976492859414 12.603</gml:posList>
										</gml:LinearRing>
									</gml:exterior>
								</gml:Polygon>
							</gml:surfaceMember>
							<gml:surfaceMember>
								<gml:Polygon>
									<gml:exterior>
										<gml:LinearRing>
											<gml:posList>35.554006435406365 139.6976492859414 30 35.55400658975998 139.69778652426308 30 35.55412715045363 139.69778632131957 30 35.554126996099335 139.69764908279242 30 35.554006435406365 139.6976492859414 30</gml:posList>
										</gml:LinearRing>
									</gml:exterior>
								</gml:Polygon>
							</gml:surfaceMember>
							<gml:surfaceMember>
								<gml:Polygon>
									<gml:exterior>
										<gml:LinearRing>
											<gml:posList>35.554006435406365 139.6976492859414 12.603 35.55400658975998 139.69778652426308 12.603 35.55400658975998 139.69778652426308 30 35.554006435406365 139.6976492859414 30 35.554006435406365 139.6976492859414 12.603</gml:posList>
										</gml:LinearRing>
									</gml:exterior>
								</gml:Polygon>
							</gml:surfaceMember>
							<gml:surfaceMember>
								<gml:Polygon>
									<gml:exterior>
										<gml:LinearRing>
											<gml:posList>35.55400658975998 139.69778652426308 12.603 35.55412715045363 139.69778632131957 12.603 35.55412715045363 139.69778632131957 30 35.55400658975998 139.69778652426308 30 35.55400658975998 139.69778652426308 12.603</gml:posList>
										</gml:LinearRing>
									</gml:exterior>
								</gml:Polygon>
							</gml:surfaceMember>
							<gml:surfaceMember>
								<gml:Polygon>
									<gml:exterior>
										<gml:LinearRing>
											<gml:posList>35.55412715045363 139.69778632131957 12.603 35.554126996099335 139.69764908279242 12.603 35.554126996099335 139.69764908279242 30 35.55412715045363 139.69778632131957 30 35.55412715045363 139.69778632131957 12.603</gml:posList>
										</gml:LinearRing>
									</gml:exterior>
								</gml:Polygon>
							</gml:surfaceMember>
							<gml:surfaceMember>
								<gml:Polygon>
									<gml:exterior>
										<gml:LinearRing>
											<gml:posList>35.554126996099335 139.69764908279242 12.603 35.554006435406365 139.6976492859414 12.603 35.554006435406365 139.6976492859414 30 35.554126996099335 139.69764908279242 30 35.554126996099335 139.69764908279242 12.603</gml:posList>
										</gml:LinearRing>
									</gml:exterior>
								</gml:Polygon>
							</gml:surfaceMember>
						</gml:CompositeSurface>
					</gml:exterior>
				</gml:Solid>
			</gen:lod1Geometry>
			<gen:lod2Geometry>
				<gml:Solid gml:id="solid_cf7e4f90-7604-4c67-bbc9-b2d638c8e779">
					<gml:exterior>
						<gml:CompositeSurface>
							<gml:surfaceMember>
								<gml:Polygon>
									<gml:exterior>
										<gml:LinearRing>
											<gml:posList>35.554006435406365 139.6976492859414 12.603 35.554126996099335 139.69764908279242 12.603 35.55412715045363 139.69778632131957 12.603 35.55400658975998 139.69778652426308 12.603 35.554006435406365 139.6976492859414 12.603</gml:posList>
										</gml:LinearRing>
									</gml:exterior>
								</gml:Polygon>
							</gml:surfaceMember>
							<gml:surfaceMember>
								<gml:Polygon>
									<gml:exterior>
										<gml:LinearRing>
											<gml:posList>35.554006435406365 139.6976492859414 30 35.55400658975998 139.69778652426308 30 35.55412715045363 139.69778632131957 30 35.554126996099335 139.69764908279242 30 35.554006435406365 139.6976492859414 30</gml:posList>
										</gml:LinearRing>
									</gml:exterior>
								</gml:Polygon>
							</gml:surfaceMember>
							<gml:surfaceMember>
								<gml:Polygon>
									<gml:exterior>
										<gml:LinearRing>
											<gml:posList>35.554006435406365 139.6976492859414 12.603 35.55400658975998 139.69778652426308 12.603 35.55400658975998 139.69778652426308 30 35.554006435406365 139.6976492859414 30 35.554006435406365 139.6976492859414 12.603</gml:posList>
										</gml:LinearRing>
									</gml:exterior>
								</gml:Polygon>
							</gml:surfaceMember>
							<gml:surfaceMember>
								<gml:Polygon>
									<gml:exterior>
										<gml:LinearRing>
											<gml:posList>35.55400658975998 139.69778652426308 12.603 35.55412715045363 139.69778632131957 12.603 35.55412715045363 139.69778632131957 30 35.55400658975998 139.69778652426308 30 35.55400658975998 139.69778652426308 12.603</gml:posList>
										</gml:LinearRing>
									</gml:exterior>
								</gml:Polygon>
							</gml:surfaceMember>
							<gml:surfaceMember>
								<gml:Polygon>
									<gml:exterior>
										<gml:LinearRing>
											<gml:posList>35.55412715045363 139.69778632131957 12.603 35.554126996099335 139.69764908279242 12.603 35.554126996099335 139.69764908279242 30 35.55412715045363 139.69778632131957 30 35.55412715045363 139.69778632131957 12.603</gml:posList>
										</gml:LinearRing>
									</gml:exterior>
								</gml:Polygon>
							</gml:surfaceMember>
							<gml:surfaceMember>
								<gml:Polygon>
									<gml:exterior>
										<gml:LinearRing>
											<gml:posList>35.554126996099335 139.69764908279242 12.603 35.554006435406365 139.6976492859414 12.603 35.554006435406365 139.6976492859414 30 35.554126996099335 139.69764908279242 30 35.554126996099335 139.69764908279242 12.603</gml:posList>
										</gml:LinearRing>
									</gml:exterior>
								</gml:Polygon>
							</gml:surfaceMember>
						</gml:CompositeSurface>
					</gml:exterior>
				</gml:Solid>
			</gen:lod2Geometry>
			<gen:lod3Geometry>
				<gml:Solid gml:id="solid_e3b2c2d5-26f5-463c-a462-a007e83e9b29">
					<gml:exterior>
						<gml:CompositeSurface>
							<gml:surfaceMember>
								<gml:Polygon>
									<gml:exterior>
										<gml:LinearRing>
											<gml:posList>35.554006435406365 139.6976492859414 12.603 35.554126996099335 139.69764908279242 12.603 35.55412715045363 139.69778632131957 12.603 35.55400658975998 139.69778652426308 12.603 35.554006435406365 139.6976492859414 12.603</gml:posList>
										</gml:LinearRing>
									</gml:exterior>
								</gml:Polygon>
							</gml:surfaceMember>
							<gml:surfaceMember>
								<gml:Polygon>
									<gml:exterior>
										<gml:LinearRing>
											<gml:posList>35.554006435406365 139.6976492859414 30 35.55400658975998 139.69778652426308 30 35.55412715045363 139.69778632131957 30 35.554126996099335 139.69764908279242 30 35.554006435406365 139.6976492859414 30</gml:posList>
										</gml:LinearRing>
									</gml:exterior>
								</gml:Polygon>
							</gml:surfaceMember>
							<gml:surfaceMember>
								<gml:Polygon>
									<gml:exterior>
										<gml:LinearRing>
											<gml:posList>35.554006435406365 139.6976492859414 12.603 35.55400658975998 139.69778652426308 12.603 35.55400658975998 139.69778652426308 30 35.554006435406365 139.6976492859414 30 35.554006435406365 139.6976492859414 12.603</gml:posList>
										</gml:LinearRing>
									</gml:exterior>
								</gml:Polygon>
							</gml:surfaceMember>
							<gml:surfaceMember>
								<gml:Polygon>
									<gml:exterior>
										<gml:LinearRing>
											<gml:posList>35.55400658975998 139.69778652426308 12.603 35.55412715045363 139.69778632131957 12.603 35.55412715045363 139.69778632131957 30 35.55400658975998 139.69778652426308 30 35.55400658975998 139.69778652426308 12.603</gml:posList>
										</gml:LinearRing>
									</gml:exterior>
								</gml:Polygon>
							</gml:surfaceMember>
							<gml:surfaceMember>
								<gml:Polygon>
									<gml:exterior>
										<gml:LinearRing>
											<gml:posList>35.55412715045363 139.69778632131957 12.603 35.554126996099335 139.69764908279242 12.603 35.554126996099335 139.69764908279242 30 35.55412715045363 139.69778632131957 30 35.55412715045363 139.69778632131957 12.603</gml:posList>
										</gml:LinearRing>
									</gml:exterior>
								</gml:Polygon>
							</gml:surfaceMember>
							<gml:surfaceMember>
								<gml:Polygon>
									<gml:exterior>
										<gml:LinearRing>
											<gml:posList>35.554126996099335 139.69764908279242 12.603 35.554006435406365 139.6976492859414 12.603 35.554006435406365 139.6976492859414 30 35.554126996099335 139.69764908279242 30 35.554126996099335 139.69764908279242 12.603</gml:posList>
										</gml:LinearRing>
									</gml:exterior>
								</gml:Polygon>
							</gml:surfaceMember>
						</gml:CompositeSurface>
					</gml:exterior>
				</gml:Solid>
			</gen:lod3Geometry>
			<gen:lod4Geometry>
				<gml:Solid gml:id="solid_d25149cc-6df8-47db-8336-56fc7f29d8f5">
					<gml:exterior>
						<gml:CompositeSurface>
							<gml:surfaceMember>
								<gml:Polygon>
									<gml:exterior>
										<gml:LinearRing>
											<gml:posList>35.554006435406365 139.6976492859414 12.603 35.554126996099335 139.69764908279242 12.603 35.55412715045363 139.69778632131957 12.603 35.55400658975998 139.69778652426308 12.603 35.554006435406365 139.6976492859414 12.603</gml:posList>
										</gml:LinearRing>
									</gml:exterior>
								</gml:Polygon>
							</gml:surfaceMember>
							<gml:surfaceMember>
								<gml:Polygon>
									<gml:exterior>
										<gml:LinearRing>
											<gml:posList>35.554006435406365 139.6976492859414 30 35.55400658975998 139.69778652426308 30 35.55412715045363 139.69778632131957 30 35.554126996099335 139.69764908279242 30 35.554006435406365 139.6976492859414 30</gml:posList>
										</gml:LinearRing>
									</gml:exterior>
								</gml:Polygon>
							</gml:surfaceMember>
							<gml:surfaceMember>
								<gml:Polygon>
									<gml:exterior>
										<gml:LinearRing>
											<gml:posList>35.554006435406365 139.6976492859414 12.603 35.55400658975998 139.69778652426308 12.603 35.55400658975998 139.69778652426308 30 35.554006435406365 139.6976492859414 30 35.554006435406365 139.6976492859414 12.603</gml:posList>
										</gml:LinearRing>
									</gml:exterior>
								</gml:Polygon>
							</gml:surfaceMember>
							<gml:surfaceMember>
								<gml:Polygon>
									<gml:exterior>
										<gml:LinearRing>
											<gml:posList>35.55400658975998 139.69778652426308 12.603 35.55412715045363 139.69778632131957 12.603 35.55412715045363 139.69778632131957 30 35.55400658975998 139.69778652426308 30 35.55400658975998 139.69778652426308 12.603</gml:posList>
										</gml:LinearRing>
									</gml:exterior>
								</gml:Polygon>
							</gml:surfaceMember>
							<gml:surfaceMember>
								<gml:Polygon>
									<gml:exterior>
										<gml:LinearRing>
											<gml:posList>35.55412715045363 139.69778632131957 12.603 35.554126996099335 139.69764908279242 12.603 35.554126996099335 139.69764908279242 30 35.55412715045363 139.69778632131957 30 35.55412715045363 139.69778632131957 12.603</gml:posList>
										</gml:LinearRing>
									</gml:exterior>
								</gml:Polygon>
							</gml:surfaceMember>
							<gml:surfaceMember>
								<gml:Polygon>
									<gml:exterior>
										<gml:LinearRing>
											<gml:posList>35.554126996099335 139.69764908279242 12.603 35.554006435406365 139.6976492859414 12.603 35.554006435406365 139.6976492859414 30 35.554126996099335 139.69764908279242 30 35.554126996099335 139.69764908279242 12.603</gml:posList>
										</gml:LinearRing>
									</gml:exterior>
								</gml:Polygon>
							</gml:surfaceMember>
						</gml:CompositeSurface>
					</gml:exterior>
				</gml:Solid>
			</gen:lod4Geometry>
		</gen:GenericCityObject>
	</core:cityObjectMember>
</core:CityModel>
